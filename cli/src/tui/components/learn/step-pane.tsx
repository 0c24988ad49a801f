/* @jsxRuntime automatic */
import { Box, Text, measureElement, type DOMElement } from 'ink';
import type { Lang, LearnStep, Support } from 'nsbox';
import { useEffect, useRef } from 'react';
import { printable } from '../../format.js';
import type { RunState } from '../../hooks/use-step-run.js';
import { EvidenceView } from './evidence-view.js';

export interface ExecResult { command: string; container: string; stdout: string; stderr: string; exitCode: number }

interface Props {
  step: LearnStep;
  lang: Lang;
  support?: Support;
  run: RunState;
  exec?: ExecResult;
  width: number;
  height: number;
  /** Lines scrolled off the top; the view clamps it with the content height reported here. */
  offset: number;
  onMeasure: (contentHeight: number) => void;
}

/** The verdict line: what happened when the step ran, or why it cannot run here. */
export function Verdict({ run, support, lang }: { run: RunState; support?: Support; lang: Lang }) {
  if (support?.ok === false) return <Text color="yellow" bold wrap="wrap">not supported on this host — {support.reason[lang]}</Text>;
  if (run.phase === 'unsupported') return <Text color="yellow" bold wrap="wrap">not supported on this host — {run.reason[lang]}</Text>;
  if (run.phase === 'running') return <Text color="yellow">running…</Text>;
  if (run.phase === 'error') return <Text color="red" bold wrap="wrap">not shown — run failed: {run.message}</Text>;
  if (run.phase === 'idle') return <Text dimColor>not run yet · Enter or r runs it on this kernel</Text>;
  const v = run.session.verdict;
  return v.shown
    ? <Text color="green" bold wrap="wrap">shown ✓ — {v.detail[lang]}</Text>
    : <Text color="red" bold wrap="wrap">not shown — {v.detail[lang]}</Text>;
}

/** One step: the claim, the verdict, the evidence, the commands to type, and the user's own command's output. */
export function StepPane({ step, lang, support, run, exec, width, height, offset, onMeasure }: Props) {
  const inner = useRef<DOMElement>(null);
  useEffect(() => { if (inner.current) onMeasure(measureElement(inner.current).height); });
  const w = Math.max(20, width - 1);
  const session = run.phase === 'done' ? run.session : undefined;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Box ref={inner} flexDirection="column" marginTop={-offset} flexShrink={0} width={w}>
        <Text wrap="truncate"><Text bold color="magenta">{step.id}</Text> <Text bold>{step.title[lang]}</Text> <Text dimColor>· {lang === 'en' ? 'English' : '中文'} (L)</Text></Text>
        <Text dimColor wrap="truncate">§ {step.section[lang]}</Text>
        <Text wrap="wrap">{step.claim[lang]}</Text>
        <Box marginTop={1}><Verdict run={run} support={support} lang={lang} /></Box>
        {session ? <Text dimColor wrap="truncate">containers: {session.containers.map((c) => `${c.label} (${c.pid ? `pid ${c.pid}` : 'exited'})`).join(', ') || 'none'} · e runs a command inside</Text> : null}
        {exec ? <ExecOutput r={exec} /> : null}
        {session?.evidence.map((ev, i) => <EvidenceView key={i} ev={ev} lang={lang} width={w} />)}
        <Box flexDirection="column" marginTop={1}>
          <Text bold>try it yourself</Text>
          {step.commands.nsbox.map((c, i) => <Text key={`n${i}`} wrap="truncate"><Text color="cyan">  nsbox  </Text>$ {c}</Text>)}
          {step.commands.manual.map((c, i) => <Text key={`m${i}`} wrap="truncate"><Text color="cyan">  manual </Text>$ {c}</Text>)}
        </Box>
        {step.extraOptions.length ? (
          <Box flexDirection="column" marginTop={1}>
            <Text bold>options beyond a default container</Text>
            {step.extraOptions.map((o, i) => <Text key={i} wrap="wrap">  • {o[lang]}</Text>)}
          </Box>
        ) : null}
      </Box>
    </Box>
  );
}

function ExecOutput({ r }: { r: ExecResult }) {
  // The user's command prints what it likes: NULs (a cmdline), tabs and escapes would break the frame.
  const lines = (s: string): string[] => (s ? s.replace(/\n$/, '').split('\n').map(printable) : []);
  return (
    <Box flexDirection="column" marginTop={1} borderStyle="single" borderColor="gray" paddingX={1}>
      <Text wrap="truncate"><Text color="cyan">{r.container}$</Text> {r.command} <Text color={r.exitCode === 0 ? 'green' : 'red'}>→ exit {r.exitCode}</Text></Text>
      {lines(r.stdout).map((l, i) => <Text key={`o${i}`} wrap="truncate">{l || ' '}</Text>)}
      {lines(r.stderr).map((l, i) => <Text key={`e${i}`} color="red" wrap="truncate">{l || ' '}</Text>)}
    </Box>
  );
}
