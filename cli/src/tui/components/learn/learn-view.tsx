/* @jsxRuntime automatic */
import { Box, Text } from 'ink';
import type { ClaimId, Lang, LearnStep, Support } from 'nsbox';
import { useEffect, useMemo, useRef, useState, type Dispatch, type SetStateAction } from 'react';
import { errorMessage, type DashboardApi } from '../../api.js';
import { LAYER, useKeys } from '../../hooks/use-keys.js';
import { useStepRun } from '../../hooks/use-step-run.js';
import { scrollKey } from '../line-view.js';
import type { Message } from '../status-bar.js';
import { TextInput } from '../text-input.js';
import { StepList, type Mark } from './step-list.js';
import { StepPane, type ExecResult } from './step-pane.js';

export interface LearnState { step: ClaimId; lang: Lang; marks: Partial<Record<ClaimId, Mark>> }
export const initialLearn = (o: { step?: ClaimId; lang?: Lang } = {}): LearnState => ({ step: o.step ?? 'S1', lang: o.lang ?? 'en', marks: {} });

interface Props {
  api: DashboardApi;
  state: LearnState;
  onState: Dispatch<SetStateAction<LearnState>>;
  onMessage: (m: Message) => void;
  width: number;
  height: number;
}

/** The step list's width: ids and titles, or on a narrow terminal ids and marks only (the pane needs ~80 columns). */
const listWidth = (columns: number): number => (columns >= 110 ? 30 : 8);

/**
 * `6`: the seed's claims S1–S15, one step each, run on this kernel. ← → (n p) step, Enter/r runs the
 * step, `e` runs a command line of the user's own in one of the step's containers (session.exec; the
 * output is shown in the pane, so the step's containers stay up), L switches English/中文. Leaving the
 * step — another step, another view, quitting — closes its session (useStepRun).
 */
export function LearnView({ api, state, onState, onMessage, width, height }: Props) {
  const loaded = useMemo((): { steps: LearnStep[]; error?: string } => { try { return { steps: api.learnSteps() }; } catch (e) { return { steps: [], error: errorMessage(e) }; } }, [api]);
  const steps = loaded.steps;
  const step = steps.find((s) => s.id === state.step) ?? steps[0];
  const [support, setSupport] = useState<Partial<Record<ClaimId, Support>>>({});
  const [offset, setOffset] = useState(0);
  const [exec, setExec] = useState<ExecResult>();
  const [prompt, setPrompt] = useState<{ value: string; container: number }>();
  const contentHeight = useRef(0);
  const { state: run, run: start } = useStepRun(step, onMessage, (id, mark) => onState((s) => ({ ...s, marks: { ...s.marks, [id]: mark } })));
  const session = run.phase === 'done' ? run.session : undefined;
  const sessionRef = useRef(session);
  sessionRef.current = session;

  useEffect(() => {
    let alive = true;
    for (const s of steps) {
      void s.supported().then((r) => { if (alive) setSupport((p) => ({ ...p, [s.id]: r })); }, () => {});
    }
    return () => { alive = false; };
  }, [steps]);
  useEffect(() => { setOffset(0); setExec(undefined); setPrompt(undefined); }, [step?.id]);

  const bodyHeight = Math.max(3, height - 1 - (prompt ? 1 : 0));
  useKeys(LAYER.overlay, (_input, key) => {
    if (!key.tab || !session) return false;
    setPrompt((p) => (p ? { ...p, container: (p.container + 1) % Math.max(1, session.containers.length) } : p));
    return true;
  }, prompt !== undefined);
  useKeys(LAYER.view, (input, key) => {
    if (!step) return false;
    const i = steps.indexOf(step);
    const go = (j: number): true => { const s = steps[Math.max(0, Math.min(steps.length - 1, j))]; if (s) onState((p) => ({ ...p, step: s.id })); return true; };
    if (key.rightArrow || input === 'n') return go(i + 1);
    if (key.leftArrow || input === 'p') return go(i - 1);
    if (key.return || input === 'r') { void start(); return true; }
    if (input === 'L') { onState((p) => ({ ...p, lang: p.lang === 'en' ? 'zh' : 'en' })); return true; }
    if (input === 'e') {
      if (!session) onMessage({ kind: 'error', text: `exec: run ${step.id} first (Enter): its containers exist only while it is open` });
      else if (!session.containers.length) onMessage({ kind: 'error', text: `exec: ${step.id} has no container to run a command in` });
      else setPrompt({ value: '', container: Math.max(0, session.containers.findIndex((c) => c.pid > 0)) });
      return true;
    }
    const to = scrollKey(input, key, offset, bodyHeight, contentHeight.current);
    if (to === undefined) return false;
    setOffset(to);
    return true;
  });

  const submit = (line: string): void => {
    const s = session;
    const c = s?.containers[prompt?.container ?? 0];
    setPrompt(undefined);
    if (!s || !c || !line.trim()) return;
    onMessage({ kind: 'busy', text: `running in ${c.label}…` });
    // sh -c: the line as typed, pipes and all (the step's containers have a shell).
    s.exec(['sh', '-c', line], c.id).then((r) => {
      if (sessionRef.current !== s) return;
      setExec({ command: line, container: c.label, ...r });
      onMessage({ kind: r.exitCode === 0 ? 'info' : 'error', text: `${c.label}: \`${line}\` exited with code ${r.exitCode}` });
    }, (e: unknown) => onMessage({ kind: 'error', text: `exec in ${c.label} failed: ${errorMessage(e)}` }));
  };

  if (!step) {
    return <Text color="yellow" wrap="wrap">{loaded.error ?? 'learn: no steps: the library\'s learnSteps() returned none'}</Text>;
  }
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box height={bodyHeight}>
        <StepList steps={steps} current={step.id} lang={state.lang} marks={state.marks} support={support}
          running={run.phase === 'running'} width={listWidth(width)} height={bodyHeight} />
        <Text> </Text>
        <StepPane step={step} lang={state.lang} support={support[step.id]} run={run} exec={exec}
          width={Math.max(20, width - listWidth(width) - 1)} height={bodyHeight} offset={offset}
          onMeasure={(h) => { contentHeight.current = h; }} />
      </Box>
      {prompt && session ? (
        <TextInput label={`${session.containers[prompt.container]?.label ?? '?'}$ `} value={prompt.value} active
          onChange={(v) => setPrompt((p) => (p ? { ...p, value: v } : p))} onSubmit={submit} onCancel={() => setPrompt(undefined)}
          hint={`Enter runs it inside${session.containers.length > 1 ? ' · Tab: next container' : ''} · Esc cancels`} />
      ) : null}
      <Text dimColor wrap="truncate">← → n p step · Enter r run · e your command inside · L English/中文 · ↑ ↓ PgUp PgDn scroll · Esc back</Text>
    </Box>
  );
}
