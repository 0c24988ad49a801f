/**
 * podman 4.3 + conmon (Debian) driving the OCI runtime under test (NSBOX_ENGINE_RUNTIME, default this
 * repository's target/release/nsbox-runtime) end to end, with private state, `--network none` and
 * cgroups below the test's own: run --rm, run -d + logs + exec + exec -it + stop (143 / 137) + rm,
 * run -it. The image is the busybox OCI fixture (tests/helpers/oci-image.ts), loaded from its docker
 * archive. NSBOX_ENGINE_TRACE=1 logs every runtime call podman made with a failure.
 */
import test, { type ExecutionContext } from 'ava';

import { busyboxImage, type OciImage } from '../helpers/oci-image.js';
import { checker as exitChecker, notRun, preflight, show, until } from './gate.js';
import { startPodman, type Podman } from './podman.js';
import { runtimesUnderTest, type RuntimeUnderTest } from './runtimes.js';

const runtimes = runtimesUnderTest();
const trace = process.env.NSBOX_ENGINE_TRACE === '1';
let env: { podman: Podman; image: OciImage } | null = null;
let unavailable: string | null = null;

test.before(async (t) => {
  unavailable = preflight(['podman', 'conmon', 'nsenter', 'unshare', 'script']);
  if (unavailable) return;
  try {
    const image = busyboxImage();
    const usable = runtimes.filter((r) => !r.problem);
    // podman needs one runtime to exist for `info`; crun (a podman dependency) stands in when none does.
    const { podman, loadMs } = await startPodman(usable.length ? usable : runtimesUnderTest('crun'), image, { trace });
    env = { podman, image };
    t.log(`engine host ${podman.host.startMs.toFixed(0)} ms, podman info ${podman.infoMs.toFixed(0)} ms, load ${loadMs.toFixed(0)} ms; cgroup parent ${podman.host.cgroupParent}`);
    for (const r of runtimes) t.log(`runtime ${r.name}: ${r.path} (${r.version ?? r.problem})`);
  } catch (e) {
    unavailable = `podman could not start: ${(e as Error).message}`;
  }
});

test.after.always(async () => {
  if (env) await env.podman.close();
});

function ready(t: ExecutionContext, rt: RuntimeUnderTest): { podman: Podman; image: OciImage } | null {
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

const TERM_HANDLER = 'echo started; trap "echo got TERM; exit 143" TERM; while :; do sleep 10 & wait $!; done';

for (const rt of runtimes) {
  const name = (s: string) => `e2e-${rt.name}-${s}`.replace(/[^A-Za-z0-9_.-]/g, '_');

  test.serial(`[${rt.name}] podman run --rm: output, stderr, exit code, nothing left`, async (t) => {
    const e = ready(t, rt);
    if (!e) return;
    const { podman, image } = e;
    const check = exitChecker(t, podman, rt, trace);
    const r = podman.cmd(['run', '--rm', '--name', name('rm'), ...podman.runFlags, image.ref, 'sh', '-c', 'echo out; echo err >&2; pwd; echo "$PATH"; exit 7'], { runtime: rt });
    t.log(`run --rm took ${r.ms.toFixed(0)} ms`);
    check(r, 7, 'the container exit code');
    t.is(r.stdout, 'out\n/\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n', 'stdout: the image config sets WorkingDir and PATH');
    t.true(r.stderr.includes('err\n'), show(r));
    const ps = podman.cmd(['ps', '--all', '--quiet', '--filter', `name=${name('rm')}`]);
    t.is(ps.stdout.trim(), '', 'run --rm removed the container');
    t.true(await until(() => podman.host.members().length === 0, 5000), `no conmon or container process left: ${JSON.stringify(podman.host.members())}`);
  });

  test.serial(`[${rt.name}] podman run -d, logs, exec, exec -it, stop (TERM handled: 143), rm`, async (t) => {
    const e = ready(t, rt);
    if (!e) return;
    const { podman, image } = e;
    const check = exitChecker(t, podman, rt, trace);
    const n = name('detached');
    const run = podman.cmd(['run', '-d', '--name', n, ...podman.runFlags, image.ref, 'sh', '-c', TERM_HANDLER], { runtime: rt });
    t.log(`run -d took ${run.ms.toFixed(0)} ms`);
    check(run, 0, 'run -d');
    const id = run.stdout.trim();
    t.regex(id, /^[0-9a-f]{64}$/, 'run -d prints the container id');
    try {
      t.true(await until(() => podman.cmd(['logs', n]).stdout.includes('started'), 10_000), `logs show the container's output: ${show(podman.cmd(['logs', n]))}`);
      t.is(podman.cmd(['inspect', '--format', '{{.State.Status}}', n]).stdout.trim(), 'running');
      const pid = Number(podman.cmd(['inspect', '--format', '{{.State.Pid}}', n]).stdout.trim());
      t.deepEqual(podman.host.cgroupsNotBelowOurs(pid), [], `the container's cgroups are below ${podman.host.cgroupParent} below the test's own`);

      const ex = podman.cmd(['exec', n, 'sh', '-c', 'echo in-exec; cat /proc/1/cmdline | tr "\\0" " "; exit 3']);
      check(ex, 3, 'exec exit code');
      t.regex(ex.stdout, /^in-exec\nsh -c echo started/, 'exec runs beside pid 1 in the container');

      const it = podman.tty(['exec', '-it', n, 'sh', '-c', 'tty; exit 5']);
      check(it, 5, 'exec -it exit code');
      t.regex(it.stdout, /\/dev\/pts\/\d+/, 'exec -it gets a terminal');

      const stop = podman.cmd(['stop', '--time', '10', n]);
      t.log(`stop took ${stop.ms.toFixed(0)} ms`);
      check(stop, 0, 'stop');
      t.true(stop.ms < 8000, `stop returned once the TERM handler exited, not after the timeout (${stop.ms.toFixed(0)} ms)`);
      t.is(podman.cmd(['inspect', '--format', '{{.State.ExitCode}}', n]).stdout.trim(), '143', 'exit code after TERM');
      t.true(podman.cmd(['logs', n]).stdout.includes('got TERM'), 'the container saw SIGTERM');

      const rm = podman.cmd(['rm', n]);
      check(rm, 0, 'rm');
      t.is(podman.cmd(['ps', '--all', '--quiet', '--filter', `id=${id}`]).stdout.trim(), '', 'rm removed it');
      t.true(await until(() => podman.host.members().length === 0, 5000), `no conmon or container process left: ${JSON.stringify(podman.host.members())}`);
    } finally {
      podman.cmd(['rm', '--force', '--time', '0', n]);
    }
  });

  test.serial(`[${rt.name}] podman stop of a container that ignores TERM: SIGKILL after the timeout, 137`, async (t) => {
    const e = ready(t, rt);
    if (!e) return;
    const { podman, image } = e;
    const check = exitChecker(t, podman, rt, trace);
    const n = name('ignores-term');
    // pid 1 of a pid namespace ignores signals it has no handler for: TERM does nothing here.
    const run = podman.cmd(['run', '-d', '--name', n, ...podman.runFlags, image.ref, 'sleep', '1000'], { runtime: rt });
    check(run, 0, 'run -d');
    try {
      const stop = podman.cmd(['stop', '--time', '1', n]);
      check(stop, 0, 'stop');
      t.true(stop.ms >= 1000, `stop waited for the timeout (${stop.ms.toFixed(0)} ms)`);
      t.is(podman.cmd(['inspect', '--format', '{{.State.ExitCode}}', n]).stdout.trim(), '137', 'exit code after SIGKILL');
      check(podman.cmd(['rm', n]), 0, 'rm');
    } finally {
      podman.cmd(['rm', '--force', '--time', '0', n]);
    }
  });

  test.serial(`[${rt.name}] podman run -it: a terminal, typed input, exit code`, (t) => {
    const e = ready(t, rt);
    if (!e) return;
    const { podman, image } = e;
    const check = exitChecker(t, podman, rt, trace);
    const r = podman.tty(['run', '--rm', '-it', '--name', name('it'), ...podman.runFlags, image.ref, 'sh'], { runtime: rt, input: 'echo typed-$((40+2)); tty\nexit 4\n' });
    t.log(`run -it took ${r.ms.toFixed(0)} ms`);
    check(r, 4, 'the shell exit code');
    t.true(r.stdout.includes('typed-42'), `the shell read the typed line: ${show(r)}`);
    t.regex(r.stdout, /\/dev\/pts\/0/, 'its stdin is the container terminal');
  });
}

test.serial('podman: stopped with nothing left (processes, cgroups, mounts, host paths)', async (t) => {
  if (unavailable || !env) return notRun(t, unavailable ?? 'podman did not start');
  const t0 = performance.now();
  const report = await env.podman.close();
  env = null;
  t.log(`cleanup took ${(performance.now() - t0).toFixed(0)} ms; removed ${report.cgroupsRemoved.length} cgroup dirs below ours`);
  t.is(report.rm.code, 0, show(report.rm));
  t.deepEqual(report.killed, [], 'no process had to be killed after podman rm -af');
  t.deepEqual(report.problems, []);
  t.deepEqual(report.leakedPaths, [], 'nothing created in the machine’s own engine directories');
});
