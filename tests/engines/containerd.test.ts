/**
 * containerd 1.6 (Debian), started by the test with a private config, driving the OCI runtime under
 * test (NSBOX_ENGINE_RUNTIME, default this repository's target/release/nsbox-runtime) as the runc v2
 * shim's runc binary, through `ctr`: run --rm (output, exit code), run -t, run -d + tasks exec (also
 * with a terminal), pause/resume, kill, delete. The image is the busybox OCI fixture's OCI archive
 * (`ctr images import`). NSBOX_ENGINE_TRACE=1 logs every runtime call the shim made with a failure.
 */
import { readFileSync } from 'node:fs';

import test, { type ExecutionContext } from 'ava';

import { busyboxImage, type OciImage } from '../helpers/oci-image.js';
import { startContainerd, type Containerd } from './containerd.js';
import { checker as exitChecker, notRun, preflight, show, until } from './gate.js';
import { runtimesUnderTest, type RuntimeUnderTest } from './runtimes.js';

const runtimes = runtimesUnderTest();
const trace = process.env.NSBOX_ENGINE_TRACE === '1';
let env: { containerd: Containerd; image: OciImage } | null = null;
let unavailable: string | null = null;

test.before(async (t) => {
  unavailable = preflight(['containerd', 'ctr', 'containerd-shim-runc-v2', 'nsenter', 'unshare', 'script']);
  if (unavailable) return;
  try {
    const image = busyboxImage();
    const { containerd, importMs } = await startContainerd(image.ociArchive, { trace });
    env = { containerd, image };
    t.log(`engine host ${containerd.host.startMs.toFixed(0)} ms, containerd boot ${containerd.bootMs.toFixed(0)} ms, import ${importMs.toFixed(0)} ms; cgroup parent ${containerd.host.cgroupParent}`);
    for (const r of runtimes) t.log(`runtime ${r.name}: ${r.path} (${r.version ?? r.problem})`);
  } catch (e) {
    unavailable = `containerd could not start: ${(e as Error).message}`;
  }
});

test.after.always(async () => {
  if (env) await env.containerd.stop();
});

function ready(t: ExecutionContext, rt: RuntimeUnderTest): { containerd: Containerd; image: OciImage } | null {
  if (unavailable) {
    notRun(t, unavailable);
    return null;
  }
  if (rt.problem) {
    notRun(t, `runtime ${rt.name}: ${rt.problem}`);
    return null;
  }
  return env;
}

/** The shim processes for container `id` (the shim's command line names it). */
function shimsOf(c: Containerd, id: string): number[] {
  return c.host
    .members()
    .filter((m) => m.comm.startsWith('containerd-shim'))
    .map((m) => m.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(id);
      } catch {
        return false;
      }
    });
}
const TERM_HANDLER = 'echo started; trap "echo got TERM; exit 143" TERM; while :; do sleep 10 & wait $!; done';

for (const rt of runtimes) {
  const id = (s: string) => `e2e-${rt.name}-${s}`.replace(/[^A-Za-z0-9_.-]/g, '_');

  test.serial(`[${rt.name}] ctr run --rm: output, exit code, nothing left`, async (t) => {
    const e = ready(t, rt);
    if (!e) return;
    const { containerd: c, image } = e;
    const check = exitChecker(t, c, rt, trace);
    const n = id('rm');
    const r = c.ctr(['run', '--rm', ...c.runFlags(rt, n), image.ref, n, 'sh', '-c', 'echo out; echo err >&2; pwd; exit 7']);
    t.log(`ctr run --rm took ${r.ms.toFixed(0)} ms`);
    try {
      check(r, 7, 'the container exit code');
      t.is(r.stdout, 'out\n/\n');
      t.true(r.stderr.includes('err\n'), show(r));
      t.false(c.containers().includes(n), 'run --rm deleted the container');
      t.true(await until(() => shimsOf(c, n).length === 0, 5000), 'its shim is gone');
    } finally {
      c.ctr(['tasks', 'delete', '--force', n]);
      c.ctr(['containers', 'delete', n]);
    }
  });

  test.serial(`[${rt.name}] ctr run --rm -t: a terminal, typed input, exit code`, (t) => {
    const e = ready(t, rt);
    if (!e) return;
    const { containerd: c, image } = e;
    const check = exitChecker(t, c, rt, trace);
    const n = id('tty');
    try {
      const r = c.tty(['run', '--rm', '-t', ...c.runFlags(rt, n), image.ref, n, 'sh'], { input: 'echo typed-$((40+2)); tty\nexit 4\n' });
      check(r, 4, 'the shell exit code');
      t.true(r.stdout.includes('typed-42'), `the shell read the typed line: ${show(r)}`);
      t.regex(r.stdout, /\/dev\/pts\/0/, 'its stdin is the container terminal');
    } finally {
      c.ctr(['tasks', 'delete', '--force', n]);
      c.ctr(['containers', 'delete', n]);
    }
  });

  test.serial(`[${rt.name}] ctr run -d, tasks exec (-t), pause, resume, kill, delete`, async (t) => {
    const e = ready(t, rt);
    if (!e) return;
    const { containerd: c, image } = e;
    const check = exitChecker(t, c, rt, trace);
    const n = id('detached');
    try {
      const run = c.ctr(['run', '-d', ...c.runFlags(rt, n), image.ref, n, 'sh', '-c', TERM_HANDLER]);
      t.log(`ctr run -d took ${run.ms.toFixed(0)} ms`);
      check(run, 0, 'run -d');
      const task = () => c.tasks().find((x) => x.id === n);
      t.is(task()?.status, 'RUNNING');
      t.deepEqual(c.host.cgroupsNotBelowOurs(task()!.pid), [], `the container's cgroups are ${c.host.cgroupParent}/${n} below the test's own`);

      const ex = c.ctr(['tasks', 'exec', '--exec-id', 'e1', n, 'sh', '-c', 'echo in-exec; cat /proc/1/cmdline | tr "\\0" " "; exit 3']);
      check(ex, 3, 'exec exit code');
      t.regex(ex.stdout, /^in-exec\nsh -c echo started/, 'exec runs beside pid 1 in the container');

      const ext = c.tty(['tasks', 'exec', '-t', '--exec-id', 'e2', n, 'sh', '-c', 'tty; exit 5']);
      check(ext, 5, 'exec -t exit code');
      t.regex(ext.stdout, /\/dev\/pts\/\d+/, 'exec -t gets a terminal');

      check(c.ctr(['tasks', 'pause', n]), 0, 'pause');
      t.is(task()?.status, 'PAUSED');
      t.true(['FROZEN', '1'].includes(c.host.freezerState(n) ?? ''), `its cgroup is frozen (${c.host.freezerState(n)})`);
      check(c.ctr(['tasks', 'resume', n]), 0, 'resume');
      t.is(task()?.status, 'RUNNING');
      t.true(['THAWED', '0'].includes(c.host.freezerState(n) ?? ''), `its cgroup is thawed (${c.host.freezerState(n)})`);
      const ex2 = c.ctr(['tasks', 'exec', '--exec-id', 'e3', n, 'echo', 'after-resume']);
      check(ex2, 0, 'exec after resume');
      t.is(ex2.stdout, 'after-resume\n');

      check(c.ctr(['tasks', 'kill', n]), 0, 'kill (SIGTERM)');
      t.true(await until(() => task()?.status === 'STOPPED', 10_000), `the TERM handler ended the task: ${JSON.stringify(task())}`);
      const del = c.ctr(['tasks', 'delete', n]);
      check(del, 0, 'tasks delete');
      t.regex(del.stderr, /exit code 143/, 'the exit status the TERM handler chose');
      check(c.ctr(['containers', 'delete', n]), 0, 'containers delete');
      t.is(task(), undefined);
      t.false(c.containers().includes(n));
      t.true(await until(() => shimsOf(c, n).length === 0, 5000), 'its shim is gone');
    } finally {
      c.ctr(['tasks', 'kill', '--signal', 'SIGKILL', n]);
      c.ctr(['tasks', 'delete', '--force', n]);
      c.ctr(['containers', 'delete', n]);
    }
  });

  test.serial(`[${rt.name}] ctr tasks kill -s SIGKILL: exit 137`, async (t) => {
    const e = ready(t, rt);
    if (!e) return;
    const { containerd: c, image } = e;
    const check = exitChecker(t, c, rt, trace);
    const n = id('sigkill');
    try {
      // pid 1 of a pid namespace ignores TERM without a handler: only KILL ends it.
      check(c.ctr(['run', '-d', ...c.runFlags(rt, n), image.ref, n, 'sleep', '1000']), 0, 'run -d');
      check(c.ctr(['tasks', 'kill', '--signal', 'SIGKILL', n]), 0, 'kill -s SIGKILL');
      t.true(await until(() => c.tasks().find((x) => x.id === n)?.status === 'STOPPED', 10_000));
      const del = c.ctr(['tasks', 'delete', n]);
      check(del, 0, 'tasks delete');
      t.regex(del.stderr, /exit code 137/);
    } finally {
      c.ctr(['tasks', 'delete', '--force', n]);
      c.ctr(['containers', 'delete', n]);
    }
  });
}

test.serial('containerd: stopped by PID with nothing left (shims, cgroups, mounts, host paths)', async (t) => {
  if (unavailable || !env) return notRun(t, unavailable ?? 'containerd did not start');
  const t0 = performance.now();
  const report = await env.containerd.stop();
  env = null;
  t.log(`stop took ${(performance.now() - t0).toFixed(0)} ms (containerd: ${report.containerdExit}); removed ${report.cgroupsRemoved.length} cgroup dirs below ours`);
  t.is(report.containerdExit, 'SIGTERM', 'containerd stopped on SIGTERM');
  t.deepEqual(report.leftoverTasks, []);
  t.deepEqual(report.leftoverContainers, []);
  t.deepEqual(report.killed, [], 'no shim or container process had to be killed');
  t.deepEqual(report.problems, []);
  t.deepEqual(report.leakedPaths, [], 'nothing created in the machine’s own engine directories');
});
