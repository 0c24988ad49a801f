/**
 * Rootless podman 4.3 (Debian) driving nsbox-runtime as `nobody`: no subuid ranges (one mapped id, so
 * the user namespace denies setgroups), no cgroups (hybrid host, cgroupfs), `--network none`, all of
 * podman's state in a private temp dir. run --rm (output, exit code), run -d + exec + stop (143) + rm.
 * The runtime is called as uid 0 of podman's user namespace: its state goes under podman's
 * XDG_RUNTIME_DIR, not /run (runc's rule). Podman's pause process (it holds the user namespace) is
 * killed by PID at the end. CI budget: about 20 s.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { runtimePath } from 'nsbox';
import { NOBODY } from '../helpers/nobody.js';
import { busyboxImage } from '../helpers/oci-image.js';
import { notRun, preflight } from './gate.js';

interface Rootless { dir: string; podman(args: string[], timeoutMs?: number): { status: number | null; stdout: string; stderr: string } }

let env: Rootless | null = null;
let unavailable: string | null = null;

test.before(() => {
  unavailable = preflight(['podman', 'conmon', 'setpriv']);
  if (unavailable) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-podman-rootless-'));
  for (const d of ['run', 'config/containers', 'data']) mkdirSync(path.join(dir, d), { recursive: true });
  const runtime = path.join(dir, 'nsbox-runtime');
  copyFileSync(runtimePath(), runtime);
  chmodSync(runtime, 0o755);
  copyFileSync(busyboxImage().dockerArchive, path.join(dir, 'image.tar'));
  // podman lets only runtimes it knows run without cgroups; rootless on a v1/hybrid host has none
  writeFileSync(path.join(dir, 'config/containers/containers.conf'), [
    '[engine]', 'runtime = "nsbox-runtime"', 'runtime_supports_json = ["nsbox-runtime"]',
    '[engine.runtimes]', `nsbox-runtime = ["${runtime}"]`, '',
  ].join('\n'));
  for (const p of [dir, ...['run', 'config', 'config/containers', 'config/containers/containers.conf', 'data', 'image.tar'].map((f) => path.join(dir, f))]) chownSync(p, NOBODY, NOBODY);
  chmodSync(dir, 0o755);
  chmodSync(path.join(dir, 'run'), 0o700);
  const vars = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, USER: 'nobody', XDG_RUNTIME_DIR: path.join(dir, 'run'), XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), CONTAINERS_CONF: path.join(dir, 'config/containers/containers.conf') };
  env = {
    dir,
    podman(args, timeoutMs = 60_000) {
      const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'env', '-i', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), 'podman', '--log-level=error', '--cgroup-manager=cgroupfs', ...args], { cwd: dir, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
      return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? ` (${r.error.message})` : ''}` };
    },
  };
  const load = env.podman(['load', '-i', path.join(dir, 'image.tar')]);
  if (load.status !== 0) unavailable = `rootless podman could not load the image: ${load.stderr.trim()}`;
});

test.after.always(() => {
  if (!env) return;
  const pauseFile = path.join(env.dir, 'run/libpod/tmp/pause.pid');
  if (existsSync(pauseFile)) {
    try {
      process.kill(Number(readFileSync(pauseFile, 'utf8').trim()), 'SIGKILL');
    } catch {}
  }
  rmSync(env.dir, { recursive: true, force: true });
});

function ready(t: ExecutionContext): Rootless | null {
  if (unavailable || !env) {
    notRun(t, unavailable ?? 'no rootless podman');
    return null;
  }
  return env;
}

const IMAGE = 'localhost/nsbox-test/busybox:latest';

test.serial('rootless podman run --rm: output, exit code, uid 0 mapped to nobody', (t) => {
  const e = ready(t);
  if (!e) return;
  const r = e.podman(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'id -u; cat /proc/self/uid_map; echo out; echo err >&2; exit 7']);
  t.is(r.status, 7, r.stderr);
  const [uid, map, out] = r.stdout.trim().split('\n');
  t.is(uid, '0');
  t.deepEqual(map!.trim().split(/\s+/), ['0', String(NOBODY), '1']);
  t.is(out, 'out');
  t.regex(r.stderr, /err/);
});

test.serial('rootless podman run -d (state under XDG_RUNTIME_DIR), exec, stop (143), rm', (t) => {
  const e = ready(t);
  if (!e) return;
  const run = e.podman(['run', '-d', '--name', 'rl', '--network', 'none', IMAGE, 'sh', '-c', 'trap "exit 143" TERM; while :; do sleep 1; done']);
  t.is(run.status, 0, run.stderr);
  const id = run.stdout.trim();
  t.true(existsSync(path.join(e.dir, 'run/nsbox', id)), 'the runtime keeps its state under podman\'s XDG_RUNTIME_DIR');
  t.false(existsSync(path.join('/run/nsbox', id)), 'not in /run/nsbox');
  const exec = e.podman(['exec', 'rl', 'sh', '-c', 'echo exec ok']);
  t.is(exec.stdout, 'exec ok\n', exec.stderr);
  t.is(e.podman(['stop', '-t', '10', 'rl']).status, 0);
  t.is(e.podman(['inspect', 'rl', '--format', '{{.State.ExitCode}}']).stdout.trim(), '143');
  t.is(e.podman(['rm', 'rl']).status, 0);
  t.is(e.podman(['ps', '-a', '-q']).stdout, '', 'nothing left');
});
