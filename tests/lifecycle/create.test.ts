/**
 * The OCI two-step start: `create` leaves the container held before its command under its monitor
 * (status created), `start` from another process lets it run; `state` prints OCI state JSON.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { CommandNotFoundError, ContainerStateError } from '../../ts/src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { writeBundle } from './bundle.js';
import { fixture, leftovers, RUNTIME, zombies } from './helpers.js';

function events(root: string, id: string): string[] {
  return readFileSync(`${root}/events.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; type: string })
    .filter((e) => e.id === id).map((e) => e.type);
}

test.serial('TS create → created (namespaces ready, command held), CLI start from another process → running', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  const env = { ...process.env, NSBOX_ROOT: f.root };
  try {
    const c = await f.rt.create({ command: ['/bin/sh', '-c', 'echo started; exec sleep 1000'], rootfs: f.rootfs.root, name: 'two-step', namespaces: 'all' });
    const s = c.inspect();
    t.is(s.status, 'created');
    t.is(c.pid, s.pid);
    // Held before exec: still our executable, already in its own namespaces and cgroups.
    t.is(readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim(), 'nsbox-runtime');
    t.not(readlinkSync(`/proc/${s.pid}/ns/pid`), readlinkSync('/proc/self/ns/pid'));
    t.not(readlinkSync(`/proc/${s.pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'));
    t.true(s.cgroups.length > 0);
    t.is(s.startedAt, null);
    t.deepEqual(events(f.root, c.id), ['create']);
    const early: unknown[] = [];
    for await (const e of c.logs()) early.push(e);
    t.deepEqual(early, []);
    const oci = JSON.parse(execFileSync(RUNTIME, ['--root', f.root, 'state', 'two-step'], { encoding: 'utf8' })) as Record<string, unknown>;
    t.like(oci, { ociVersion: '1.2.0', id: c.id, status: 'created', pid: s.pid, bundle: s.bundle, annotations: { 'org.nsbox.seccomp.profile': 'default' } });
    const ps = await runCli(['ps', '-a', '--format', 'json'], { env });
    t.is((JSON.parse(ps.stdout.trim()) as { status: string }).status, 'created');

    const started = await runCli(['start', 'two-step'], { env });
    t.is(started.code, 0, started.stderr);
    t.is(started.stdout, 'two-step\n');
    const r = c.inspect();
    t.is(r.status, 'running');
    t.is(r.pid, s.pid, 'the same process, now the command');
    t.is(readFileSync(`/proc/${r.pid}/comm`, 'utf8').trim(), 'sleep');
    t.truthy(r.startedAt);
    for await (const e of c.logs({ follow: false })) t.deepEqual([e.stream, e.log], ['stdout', 'started\n']);
    t.deepEqual(events(f.root, c.id), ['create', 'start']);
    const oci2 = JSON.parse(execFileSync(RUNTIME, ['--root', f.root, 'state', c.id], { encoding: 'utf8' })) as Record<string, unknown>;
    t.is(oci2.status, 'running');
    // OCI: only a created container can be started (docker's CLI: starting a running one is a no-op).
    await t.throwsAsync(c.start(), { instanceOf: ContainerStateError, message: /only a created container can be started/ });
    t.is((await runCli(['start', 'two-step'], { env })).code, 0);
    await c.remove({ force: true });
    t.deepEqual(leftovers(f.root, [r]), []);
    t.deepEqual(zombies(), []);
  } finally {
    await f.dispose();
  }
});

test.serial('create: a command that is not there fails at start (127), rm -f of a created container cleans', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const bad = await f.rt.create({ command: ['/nonexistent'], rootfs: f.rootfs.root });
    await t.throwsAsync(bad.start(), { instanceOf: CommandNotFoundError });
    t.like(await bad.wait(), { exitCode: 127 });
    const held = await f.rt.create({ command: ['/bin/sleep', '1000'], rootfs: f.rootfs.root });
    const states = [held.inspect(), bad.inspect()];
    await held.remove({ force: true });
    await bad.remove();
    t.deepEqual(leftovers(f.root, states), []);
    t.deepEqual(zombies(), []);
  } finally {
    await f.dispose();
  }
});

test.serial('nsbox-runtime create --bundle / start / state / kill / delete, as crun', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  const rt = (...a: string[]) => spawnSync(RUNTIME, ['--root', f.root, ...a], { encoding: 'utf8' });
  try {
    const bundle = writeBundle(f.rootfs, ['/bin/sleep', '1000']);
    // As with runc and crun, the container keeps create's stdio (no monitor of ours in between):
    // give it files, not pipes spawnSync would wait on until the container ends.
    const out = path.join(f.root, '..', `oci-1-${process.pid}.out`);
    const fd = openSync(out, 'w');
    const created = spawnSync(RUNTIME, ['--root', f.root, 'create', '--bundle', bundle, 'oci-1'], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    t.is(created.status, 0, readFileSync(out, 'utf8'));
    t.is(readFileSync(out, 'utf8'), '');
    rmSync(out);
    const st = JSON.parse(rt('state', 'oci-1').stdout) as { status: string; pid: number; bundle: string };
    t.is(st.status, 'created');
    t.is(st.bundle, bundle);
    t.is(rt('start', 'oci-1').status, 0);
    t.is((JSON.parse(rt('state', 'oci-1').stdout) as { status: string }).status, 'running');
    t.is(rt('kill', 'oci-1', 'KILL').status, 0);
    const saved = f.rt.get('oci-1').inspect();
    await f.rt.get('oci-1').wait();
    const stopped = JSON.parse(rt('state', 'oci-1').stdout) as { status: string; pid: number };
    t.like(stopped, { status: 'stopped', pid: 0 });
    t.is(rt('delete', 'oci-1').status, 0);
    t.is(rt('state', 'oci-1').status, 125);
    t.deepEqual(leftovers(f.root, [saved]), []);
  } finally {
    await f.dispose();
  }
});
