/**
 * The OCI conformance suite (runtime-tools, built offline from ../shared/oci) against nsbox-runtime,
 * in `npm test`: every test in tests/oci/must-pass.txt must pass (a test counts only when the
 * container's own TAP reached the suite; docs/oci-conformance.md), and the run must leave nothing
 * behind. The per-test table is logged. CI budget: about 5 minutes (a one-off build of ~1 minute,
 * then one validation test at a time).
 *
 * One run of the harness feeds several ava tests, one per slice of the suite, each settled as soon as
 * its slice has run. A single long, silent test would need `t.timeout()`, and ava stops watching for
 * a hung run altogether when its inactivity timer fires inside such a window: a hang anywhere in
 * `npm test` then lasts until CI kills it, with nothing said.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import test from 'ava';

import { runtimePath } from 'nsbox';
import { needsRoot } from '../helpers/privileged.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const SLICES = 6;

/** The suite's tarball, as CI lays it out beside the clone (or $NSBOX_OCI_SUITE). */
function suiteTarball(): string | null {
  if (process.env.NSBOX_OCI_SUITE) return process.env.NSBOX_OCI_SUITE;
  const dir = path.resolve(REPO, '../shared/oci');
  const tgz = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith('runtime-tools-') && f.endsWith('.tar.gz')) : undefined;
  return tgz ? path.join(dir, tgz) : null;
}

const MUST_PASS = path.join(HERE, 'must-pass.txt');
const mustPass = new Set(readFileSync(MUST_PASS, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));

interface Outcome { name: string; mark: string; line: string; settled: boolean }
interface Run {
  /** Settles once `count` tests have run (or the harness ended first). */
  ran(count: number): Promise<Outcome[]>;
  total: Promise<number>;
  done: Promise<{ code: number | null; out: string; err: string }>;
}

let harness: Run | undefined;

/** Starts conformance.mjs once and follows its per-test lines (`[oci] RUNTIME TEST PASS|FAIL|TIME …`). */
function start(suite: string): Run {
  const args = [path.join(HERE, 'conformance.mjs'), '--runtime', runtimePath(), '--suite', suite, '--must-pass', MUST_PASS];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const outcomes: Outcome[] = [];
  const waiters: Array<{ count: number; resolve: (o: Outcome[]) => void }> = [];
  let setTotal: (n: number) => void = () => {};
  const total = new Promise<number>((resolve) => (setTotal = resolve));
  let out = '';
  let err = '';
  let partial = '';
  let ended = false;
  const wake = () => {
    for (const w of waiters.splice(0)) {
      const settled = outcomes.findIndex((o) => !o.settled);
      if (ended || (settled < 0 ? outcomes.length : settled) >= w.count) w.resolve(outcomes.slice());
      else waiters.push(w);
    }
  };
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    err += d;
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const n = /^\[oci\] (\d+) tests ×/.exec(line);
      if (n) setTotal(Number(n[1]));
      const m = /^\[oci\] \S+\s+(\S+)\s+(retry )?(PASS|FAIL|TIME)\b/.exec(line);
      if (!m) continue;
      const [, name, retry, mark] = m as unknown as [string, string, string | undefined, string];
      const earlier = retry ? outcomes.find((o) => o.name === name) : undefined;
      // a failed must-pass test is run once more (conformance.mjs): it is settled by its second line
      if (earlier) Object.assign(earlier, { mark, line: `${earlier.line}\n${line.slice(6)}`, settled: true });
      else outcomes.push({ name, mark, line: line.slice(6), settled: mark === 'PASS' || !mustPass.has(name) });
    }
    wake();
  });
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('close', (code) => {
      ended = true;
      setTotal(outcomes.length);
      wake();
      resolve({ code, out, err });
    }),
  );
  return {
    ran: (count) => new Promise((resolve) => { waiters.push({ count, resolve }); wake(); }),
    total,
    done,
  };
}

function harnessFor(t: { fail(m: string): void }): Run | null {
  const suite = suiteTarball();
  if (!suite) {
    t.fail('the conformance suite is not beside this checkout (../shared/oci/runtime-tools-*.tar.gz) and NSBOX_OCI_SUITE is not set');
    return null;
  }
  harness ??= start(suite);
  return harness;
}

for (let slice = 1; slice <= SLICES; slice++) {
  test(`OCI conformance, slice ${slice}/${SLICES}: the must-pass tests in it pass for nsbox-runtime`, async (t) => {
    if (!needsRoot(t)) return;
    const run = harnessFor(t);
    if (!run) return;
    const total = await run.total;
    const per = Math.ceil(total / SLICES);
    const outcomes = (await run.ran(Math.min(total, slice * per))).slice((slice - 1) * per, slice * per);
    for (const o of outcomes) t.log(o.line);
    t.deepEqual(outcomes.filter((o) => mustPass.has(o.name) && o.mark !== 'PASS').map((o) => o.line), [], 'must-pass tests that did not pass');
    if (total > 0) t.true(outcomes.length > 0 || total < slice, `slice ${slice} ran (the harness ended early: see the last slice)`);
  });
}

test('OCI conformance: the whole run passes its gate and leaves nothing behind', async (t) => {
  if (!needsRoot(t)) return;
  const run = harnessFor(t);
  if (!run) return;
  const { code, out, err } = await run.done;
  t.log(out.trim());
  t.is(code, 0, `conformance.mjs exited ${code}: ${err.trim().split('\n').slice(-15).join('\n')}`);
  t.regex(out, /nsbox-runtime \(.*\): \d+\/\d+ passed/);
  t.regex(out, /left behind: nothing/);
});
