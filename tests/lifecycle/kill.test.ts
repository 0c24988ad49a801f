/**
 * SIGKILL of the CLI, of the runtime executable, or of the monitor at different moments: `ps`
 * tells the truth afterwards and `rm -f` cleans everything.
 */
import { spawn } from 'node:child_process';
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
