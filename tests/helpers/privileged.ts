/**
 * Privileged tests need root. Under NSBOX_REQUIRE_PRIV=1 (CI) a test that cannot run FAILS, so a
 * skipped test can never count as a pass there; elsewhere it logs why and asserts nothing.
 */
import type { ExecutionContext } from 'ava';

export const isRoot = process.getuid?.() === 0;

/** Returns true when the test may go on; otherwise has already failed it (CI) or logged why not. */
export function needsRoot(t: ExecutionContext): boolean {
  if (isRoot) return true;
  const why = `needs root (running as uid ${process.getuid?.()})`;
  if (process.env.NSBOX_REQUIRE_PRIV === '1') {
    t.fail(`${why}, and NSBOX_REQUIRE_PRIV=1 forbids skipping`);
  } else {
    t.log(`NOT RUN: ${why}`);
    t.pass();
  }
  return false;
}
