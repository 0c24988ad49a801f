/**
 * `nsbox learn [S1..S15] [--lang en|zh] [--check]`: the seed article's claims, shown on the real
 * kernel. With --check it runs the steps in order and prints one line per claim; otherwise it opens
 * the TUI on its Learn view.
 */
import tty from 'node:tty';

import type { Command } from 'commander';
import { CLAIM_IDS, learnSteps, type ClaimId, type Lang, type LearnStep } from 'nsbox';

import { importInteractive } from './tui.js';

interface LearnFlags {
  lang: string;
  check?: boolean;
}

export function addLearnCommand(program: Command): void {
  program
    .command('learn')
    .description('the seed article\'s claims (S1–S15), shown step by step on the real kernel')
    .argument('[STEP]', `one claim, ${CLAIM_IDS[0]} … ${CLAIM_IDS.at(-1)}`)
    .option('--lang <LANG>', 'en or zh', 'en')
    .option('--check', 'run every step (or STEP) without the TUI: one line per claim, exit 1 if any failed')
    .action(async (step: string | undefined, flags: LearnFlags) => {
      process.exitCode = await learn(step, flags);
    });
}

function usage(message: string): number {
  process.stderr.write(`nsbox: learn: ${message}\n`);
  return 125;
}

async function learn(stepArg: string | undefined, flags: LearnFlags): Promise<number> {
  if (flags.lang !== 'en' && flags.lang !== 'zh') return usage(`--lang: expected en or zh, not ${JSON.stringify(flags.lang)}`);
  const lang: Lang = flags.lang;
  let step: ClaimId | undefined;
  if (stepArg !== undefined) {
    step = CLAIM_IDS.find((id) => id === stepArg.toUpperCase());
    if (!step) return usage(`unknown step ${JSON.stringify(stepArg)}: expected one of ${CLAIM_IDS.join(' ')}`);
  }
  if (flags.check) return check(step, lang);
  if (!tty.isatty(0) || !tty.isatty(1)) {
    process.stderr.write('nsbox: learn: the Learn view needs a terminal (stdin and stdout must be a tty); use `nsbox learn --check` in scripts\n');
    return 1;
  }
  try {
    const { runTui } = await importInteractive();
    return await runTui({ learn: { step, lang } });
  } catch (err) {
    process.stderr.write(`nsbox: learn: ${err instanceof Error ? err.message : String(err)}\n`);
    return 125;
  }
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * Runs the steps in order, closing each before the next. ^C or SIGTERM aborts the running step (which
 * removes what it started) and ends with 130/143.
 */
async function check(only: ClaimId | undefined, lang: Lang): Promise<number> {
  const ac = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    signalled = sig;
    ac.abort(new Error(`${sig} received`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let failed = 0;
  try {
    for (const s of learnSteps()) {
      if (only !== undefined && s.id !== only) continue;
      if (signalled) break;
      if (!(await checkStep(s, lang, ac.signal))) failed++;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (signalled) return signalled === 'SIGINT' ? 130 : 143;
  return failed ? 1 : 0;
}

/** One line for one step; false when it ran and was not shown (or could not clean up). */
async function checkStep(s: LearnStep, lang: Lang, signal: AbortSignal): Promise<boolean> {
  const id = s.id.padEnd(3);
  const support = await s.supported();
  if (!support.ok) {
    process.stdout.write(`${id} not shown here: ${oneLine(support.reason[lang])}\n`);
    return true;
  }
  let line: string;
  let ok = false;
  try {
    const session = await s.run({ signal });
    ok = session.verdict.shown;
    line = `${id} ${ok ? 'shown ' : 'FAILED'}  ${s.title[lang]}: ${oneLine(session.verdict.detail[lang])}`;
    try {
      await session.close();
    } catch (e) {
      ok = false;
      line += ` (cleanup FAILED: ${oneLine(e instanceof Error ? e.message : String(e))})`;
    }
  } catch (e) {
    line = `${id} FAILED  ${s.title[lang]}: ${oneLine(e instanceof Error ? e.message : String(e))}`;
  }
  process.stdout.write(`${line}\n`);
  return ok;
}
