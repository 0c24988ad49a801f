/**
 * When an engine test cannot run (not root, an engine or the runtime missing, the engine would not
 * start): under NSBOX_REQUIRE_PRIV=1 (CI) the test FAILS, so a skipped engine test never counts as a
 * pass there; elsewhere it logs why and passes without asserting anything.
 */
import type { ExecutionContext } from 'ava';

import { missingCommands, type CmdResult } from './host.js';
import type { RuntimeUnderTest } from './runtimes.js';

export const REQUIRE_PRIV = process.env.NSBOX_REQUIRE_PRIV === '1';

/** Why the engine tests cannot run at all on this machine, or null. */
export function preflight(commands: string[]): string | null {
  if (process.getuid?.() !== 0) return `needs root (running as uid ${process.getuid?.()})`;
  const missing = missingCommands(commands);
  if (missing.length) return `missing ${missing.join(', ')} (bash tests/deps/ensure.sh test installs them)`;
  return null;
}

export function notRun(t: ExecutionContext, why: string): void {
  if (REQUIRE_PRIV) {
    t.fail(`${why}, and NSBOX_REQUIRE_PRIV=1 forbids skipping`);
  } else {
    t.log(`NOT RUN: ${why}`);
    t.pass();
  }
}

/** Polls `check` every 50 ms until it returns true or `ms` pass. */
export async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A command's whole result, for an assertion's message. */
export function show(r: CmdResult): string {
  return `\`${r.cmd}\` → ${r.code ?? r.signal} in ${r.ms.toFixed(0)} ms\n  stdout: ${JSON.stringify(r.stdout.slice(0, 600))}\n  stderr: ${JSON.stringify(r.stderr.slice(0, 1500))}`;
}

/**
 * An exit-code assertion for one test, with the whole result in its message; when traced
 * (NSBOX_ENGINE_TRACE=1), a mismatch also logs the runtime calls made since the test began.
 */
export function checker(t: ExecutionContext, engine: { trace(rt: RuntimeUnderTest): string[] }, rt: RuntimeUnderTest, trace: boolean): (r: CmdResult, code: number, what: string) => void {
  const mark = trace ? engine.trace(rt).length : 0;
  return (r, code, what) => {
    if (r.code !== code && trace) t.log(`runtime calls:\n  ${engine.trace(rt).slice(mark).join('\n  ')}`);
    t.is(r.code, code, `${what}: ${show(r)}`);
  };
}
