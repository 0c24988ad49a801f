/**
 * "A log writer that cannot keep up never blocks the container for long, and a full disk is an
 * error in the log, not a hang": the state root on a 64 KiB tmpfs (in a mount namespace of the
 * scenario's own), and an attach client that never reads. Completion within the test's timeout is
 * the assertion that nothing blocked; no durations are measured.
 */
import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { runScenario } from './helpers.js';

interface Facts {
  error?: string;
  exit: { exitCode: number };
  logDropped: number;
  logError: string | null;
  note: string | null;
  ps: { code: number; status: string };
  inspect: { code: number; exitCode: number };
  rm: number;
  leftovers: string[];
  slowExit: { exitCode: number };
  slowReceived: number;
  slowLogged: number;
  slowLeftovers: string[];
}

test('full disk: the container finishes, the log and the state say what was dropped, ps/inspect/rm work; a reader that never reads is dropped', async (t) => {
  if (!needsRoot(t)) return;
  const { code, facts: f, stderr } = await runScenario<Facts>('full-disk');
  t.is(code, 0, stderr);
  t.is(f.error, undefined);
  t.is(f.exit.exitCode, 0, 'the container ran to its end');
  t.true(f.logDropped > 2_000_000, `most of 3 MB dropped (${f.logDropped})`);
  t.regex(f.logError ?? '', /container\.log\): ENOSPC/);
  t.regex(f.note ?? '', /^nsbox: \d+ bytes of output were dropped: write\(.*container\.log\): ENOSPC/, 'the log itself says so');
  t.like(f.ps, { code: 0, status: 'exited' });
  t.like(f.inspect, { code: 0, exitCode: 0 });
  t.is(f.rm, 0);
  t.deepEqual(f.leftovers, []);
  t.is(f.slowExit.exitCode, 0, 'an attach client that never reads does not hold the container');
  t.true(f.slowReceived < 8_000_000, `the non-reading client was dropped (${f.slowReceived} bytes reached it)`);
  t.is(f.slowLogged, 8_000_000, 'the log still got everything');
  t.deepEqual(f.slowLeftovers, []);
});
