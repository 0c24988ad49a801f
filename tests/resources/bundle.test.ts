/**
 * `nsbox-runtime` with an OCI bundle whose config has linux.resources and a relative
 * linux.cgroupsPath (below this process's own cgroup), and the cleanup of a foreground run killed
 * with SIGKILL: its cgroups are recorded in the state root before the first is made, where
 * `delete ID` or the next run of the id finds and removes them. The kill lands at each step of the
 * cgroups' creation through the runtime's test-only pause point (NSBOX_TEST_STOP_AT=<step> makes it
 * SIGSTOP itself there; nsbox-cgroups' test_stop_at). CI budget: ~20 s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';

import { ociConfig, type RunOptions } from '../../ts/src/index.js';
import { CLI, runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { makeBusyboxRootfs } from '../helpers/rootfs.js';
import { RUNTIME } from '../lifecycle/helpers.js';
import { eventually, ownCgroupPaths } from './helpers.js';

function bundle(dir: string, root: string, command: string[], resources: RunOptions['resources'], cgroupsPath?: string): string {
  const spec = ociConfig({ command, rootfs: root, resources }) as Record<string, any>;
  if (cgroupsPath) spec.linux.cgroupsPath = cgroupsPath;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

const runtime = (stateRoot: string, args: string[]) => spawnSync(RUNTIME, ['--root', stateRoot, ...args], { encoding: 'utf8' });

test.serial('run --bundle: linux.resources enforced in the cgroupsPath given, which is gone after the exit', async (t) => {
  if (!needsRoot(t)) return;
  const rootfs = makeBusyboxRootfs();
  const state = mkdtempSync(path.join(tmpdir(), 'nsbox-res-root-'));
  const parent = `nsbox-restest-${process.pid}`;
  try {
    const b = bundle(rootfs.dir, rootfs.root, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=100M', 'count=1'], { memory: '16m', memorySwap: '16m' }, `${parent}/oom`);
    const r = runtime(state, ['run', '--bundle', b, 'res-oom']);
    t.is(r.status, 137, r.stderr);
    const p = bundle(rootfs.dir, rootfs.root, ['/bin/sh', '-c', 'for i in 1 2 3 4 5 6; do sleep 1 & done; wait'], { pidsLimit: 3 }, `${parent}/pids`);
    const q = runtime(state, ['run', '--bundle', p, 'res-pids']);
    t.not(q.status, 0);
    t.regex(q.stderr + q.stdout, /fork/i);
    t.deepEqual(ownCgroupPaths(parent).filter((d) => existsSync(d)), [], 'the cgroupsPath and the parents made for it are removed');
    t.deepEqual(readdirSync(state).filter((n) => n.startsWith('.cgroups-')), [], 'no record left');
  } finally {
    rmSync(state, { recursive: true, force: true });
    rootfs.remove();
  }
});

test.serial('a foreground run SIGKILLed leaves a record; delete ID, or the next run of the id, removes its cgroups', async (t) => {
  if (!needsRoot(t)) return;
  const rootfs = makeBusyboxRootfs();
  const state = mkdtempSync(path.join(tmpdir(), 'nsbox-res-root-'));
  const id = `restest-kill-${process.pid}`;
  const mine = () => ownCgroupPaths(`nsbox-${id}`).filter((d) => existsSync(d));
  try {
    const b = bundle(rootfs.dir, rootfs.root, ['sleep', '30'], { pidsLimit: 10 });
    for (const cleanup of ['delete', 'run'] as const) {
      const child = spawn(RUNTIME, ['--root', state, 'run', '--bundle', b, id], { stdio: 'ignore' });
      t.true(await eventually(() => mine().length > 0), 'the cgroups exist');
      // Written before the first mkdir: whoever sees a cgroup sees the record.
      t.true(existsSync(path.join(state, `.cgroups-${id}`)), 'the record exists');
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      // The container's processes go with the runtime (PDEATHSIG); its cgroups stay, recorded.
      t.true(existsSync(path.join(state, `.cgroups-${id}`)), 'recorded');
      t.true(mine().length > 0, 'left behind by the SIGKILL');
      if (cleanup === 'delete') {
        const d = runtime(state, ['delete', id]);
        t.is(d.status, 0, d.stderr);
      } else {
        const quick = bundle(rootfs.dir, rootfs.root, ['true'], { pidsLimit: 10 });
        const r = runtime(state, ['run', '--bundle', quick, id]);
        t.is(r.status, 0, r.stderr);
      }
      t.deepEqual(mine(), [], `gone after ${cleanup}`);
      t.false(existsSync(path.join(state, `.cgroups-${id}`)));
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
    rootfs.remove();
  }
});

/** The state letter of /proc/PID/stat (T: stopped). */
function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return '';
  }
}

test.serial('SIGKILL at each step of creating the cgroups: delete --force removes every cgroup with the id', async (t) => {
  if (!needsRoot(t)) return;
  const rootfs = makeBusyboxRootfs();
  const state = mkdtempSync(path.join(tmpdir(), 'nsbox-res-root-'));
  const id = `restest-steps-${process.pid}`;
  const mine = () => ownCgroupPaths(`nsbox-${id}`).filter((d) => existsSync(d));
  const all = ownCgroupPaths(`nsbox-${id}`).length;
  try {
    const b = bundle(rootfs.dir, rootfs.root, ['sleep', '30'], { pidsLimit: 10, memory: '64m' });
    // How many of the id's cgroups exist when the runtime stops at each step.
    const steps: Array<[string, (n: number) => boolean]> = [
      ['cgroups-recorded', (n) => n === 0], ['cgroups-first-mkdir', (n) => n === 1], ['cgroups-made', (n) => n >= 2], ['cgroups-joined', (n) => n >= 2],
    ];
    for (const [step, expected] of steps) {
      const child = spawn(RUNTIME, ['--root', state, 'run', '--bundle', b, id], { stdio: 'ignore', env: { ...process.env, NSBOX_TEST_STOP_AT: step } });
      t.true(await eventually(() => procState(child.pid!) === 'T'), `${step}: stopped there`);
      t.true(expected(mine().length), `${step}: ${mine().length} of ${all} cgroups exist`);
      t.true(existsSync(path.join(state, `.cgroups-${id}`)), `${step}: recorded`);
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const d = runtime(state, ['delete', '--force', id]);
      t.is(d.status, 0, `${step}: ${d.stderr}`);
      t.deepEqual(mine(), [], `${step}: every cgroup with the id is gone`);
      t.false(existsSync(path.join(state, `.cgroups-${id}`)), `${step}: the record too`);
    }
  } finally {
    for (const d of ownCgroupPaths(`nsbox-${id}`).filter((x) => existsSync(x))) spawnSync('rmdir', [d]);
    rmSync(state, { recursive: true, force: true });
    rootfs.remove();
  }
});

test.serial('a monitor SIGKILLed while making the cgroups of `nsbox run -d`: ps shows it dead, rm -f removes every cgroup with the id', async (t) => {
  if (!needsRoot(t)) return;
  const state = mkdtempSync(path.join(tmpdir(), 'nsbox-res-root-'));
  try {
    const cli = spawn(process.execPath, [CLI, 'run', '-d', '--root', state, '--name', 'cut', '--pids-limit', '10', '--', 'sleep', '30'],
      { stdio: 'ignore', env: { ...process.env, NSBOX_TEST_STOP_AT: 'cgroups-first-mkdir' } });
    const ids = () => readdirSync(state).filter((n) => /^[0-9a-f]{64}$/.test(n));
    let monitor = 0;
    t.true(await eventually(() => {
      const id = ids()[0];
      if (!id || !existsSync(path.join(state, id, 'state.json'))) return false;
      monitor = JSON.parse(readFileSync(path.join(state, id, 'state.json'), 'utf8')).monitorPid ?? 0;
      return monitor > 0 && procState(monitor) === 'T';
    }), 'the monitor stopped after its first mkdir');
    const id = ids()[0]!;
    const mine = () => ownCgroupPaths(`nsbox-${id.slice(0, 32)}`).filter((d) => existsSync(d));
    t.is(mine().length, 1, 'one cgroup made');
    process.kill(monitor, 'SIGKILL');
    await new Promise((r) => (cli.exitCode === null ? cli.on('exit', r) : r(null)));
    const ps = await runCli(['ps', '-a', '--root', state, '--format', '{{.Names}} {{.State}}']);
    t.regex(ps.stdout, /^cut dead$/m);
    const rm = await runCli(['rm', '-f', '--root', state, 'cut']);
    t.is(rm.code, 0, rm.stderr);
    t.deepEqual(mine(), [], 'every cgroup with the id is gone');
    t.deepEqual(readdirSync(state).filter((n) => n.startsWith('.cgroups-') || /^[0-9a-f]{64}$/.test(n)), [], 'no record, no container');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
