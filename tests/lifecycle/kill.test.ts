/**
 * SIGKILL of the CLI, of the runtime executable, or of the monitor at different moments: `ps`
 * tells the truth afterwards and `rm -f` cleans everything. And `dieWith`: a container killed when
 * another process ends. CI budget: ~20 s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { CLI } from '../helpers/cli.js';
import { fixture, leftovers, RUNTIME, until, zombies } from './helpers.js';

const DELAYS = [0, 5, 15, 30, 60, 120];

async function killAfter(file: string, args: string[], ms: number, env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(file, args, { stdio: 'ignore', env });
  const closed = new Promise((r) => child.on('close', r));
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGKILL');
  await closed;
}

test.serial('monitor killed: the container dies with it, ps says dead, rm -f cleans', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const c = await f.rt.run({ command: ['/bin/sleep', '1000'], rootfs: f.rootfs.root });
    const s = c.inspect();
    process.kill(s.monitorPid!, 'SIGKILL');
    await until(() => c.inspect().status === 'dead', 3000, 'status dead');
    const after = f.rt.list({ all: true });
    t.is(after.length, 1);
    t.is(after[0]!.status, 'dead');
    t.is(after[0]!.recordedStatus, 'running');
    await c.remove({ force: true });
    t.deepEqual(leftovers(f.root, [s]), []);
    t.deepEqual(zombies(), []);
  } finally {
    await f.dispose();
  }
});

test.serial('dieWith: the container is killed when that process ends, and exits as any other', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  const parent = spawn('sleep', ['1'], { stdio: 'ignore' });
  t.teardown(() => parent.kill('SIGKILL'));
  try {
    const c = await f.rt.run({ command: ['/bin/sleep', '1000'], rootfs: f.rootfs.root, dieWith: parent.pid! });
    const s = c.inspect();
    t.is(s.status, 'running');
    await new Promise((r) => parent.once('exit', r));
    const t0 = Date.now();
    await until(() => c.inspect().status === 'exited', 10000, 'status exited');
    t.log(`exited ${Date.now() - t0} ms after the sleep it died with`);
    const after = c.inspect();
    t.is(after.exitSignal, 'SIGKILL');
    t.is(after.exitCode, 137);
    await c.remove({ force: true });
    t.deepEqual(leftovers(f.root, [s]), []);
    t.deepEqual(zombies(), []);
  } finally {
    await f.dispose();
  }
});

test.serial('dieWith: a process already gone kills the container at once; an invalid pid is refused', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const gone = spawn('true', { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    const c = await f.rt.run({ command: ['/bin/sleep', '1000'], rootfs: f.rootfs.root, dieWith: gone.pid! });
    await until(() => c.inspect().status === 'exited', 10000, 'status exited');
    t.is(c.inspect().exitSignal, 'SIGKILL');
    await c.remove({ force: true });
    await t.throwsAsync(f.rt.run({ command: ['/bin/true'], rootfs: f.rootfs.root, dieWith: -1 }), { message: /dieWith/ });
    const bundle = await import('./bundle.js').then((m) => m.writeBundle(f.rootfs, ['/bin/true']));
    const r = spawnSync(RUNTIME, ['--root', f.root, 'run', '--detach', '--die-with', '0', '--bundle', bundle, 'diewith-bad'], { encoding: 'utf8' });
    t.is(r.status, 125);
    t.regex(r.stderr, /pidfd_open\(--die-with 0\): EINVAL/);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.deepEqual(f.rt.list({ all: true }), []);
  } finally {
    await f.dispose();
  }
});

for (const [who, file, argv] of [
  ['CLI', process.execPath, (rootfs: string) => [CLI, 'run', '-d', '--rootfs', rootfs, '--', '/bin/sleep', '1000']],
  ['runtime', RUNTIME, (_: string) => ['run', '--detach', '--bundle', 'BUNDLE', `kill-${Math.random().toString(16).slice(2)}`]],
] as const) {
  test.serial(`${who} SIGKILLed at steps of run -d: ps is truthful, rm -f cleans`, async (t) => {
    if (!needsRoot(t)) return;
    const f = fixture();
    try {
      const env = { ...process.env, NSBOX_ROOT: f.root };
      const bundle = await import('./bundle.js').then((m) => m.writeBundle(f.rootfs, ['/bin/sleep', '1000']));
      for (const ms of DELAYS) {
        await killAfter(file, argv(f.rootfs.root).map((a) => (a === 'BUNDLE' ? bundle : a)), ms, env);
      }
      // Whatever got far enough runs under its monitor; the rest is gone or reported dead. Wait until
      // every nsbox-runtime of this test is either gone or a recorded monitor (none still booting).
      await until(() => {
        const monitors = new Set(f.rt.list({ all: true }).filter((s) => s.status !== 'creating').map((s) => s.monitorPid));
        return ours(f.root, bundle).every((pid) => monitors.has(pid));
      }, 10000, 'monitors to finish booting');
      const states = f.rt.list({ all: true });
      for (const s of states) {
        t.true(['running', 'dead', 'creating'].includes(s.status), `${s.id}: ${s.status}`);
        if (s.status === 'running') t.true(s.pid !== null && s.monitorPid !== null);
      }
      for (const s of states) await f.rt.get(s.id).remove({ force: true });
      t.deepEqual(leftovers(f.root, states), []);
      t.deepEqual(ours(f.root, bundle), [], 'no runtime or monitor of this test is left');
      t.deepEqual(zombies(), []);
    } finally {
      await f.dispose();
    }
  });
}

/** Live (non-zombie) nsbox-runtime processes started for this test (by bundle, or by root in the environment). */
function ours(root: string, bundle: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'nsbox-runtime') continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmd.includes(bundle) || env.includes(`NSBOX_ROOT=${root}\0`)) out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}
