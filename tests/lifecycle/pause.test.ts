/**
 * pause / unpause (docker's): the container's processes stop getting CPU through the cgroup freezer
 * and go on where they were; a paused container refuses signals and exec, as docker's does, and
 * `rm -f` still removes it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { ContainerStateError, type ContainerState } from '../../ts/src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { fixture, leftovers } from './helpers.js';

/** What the kernel says of the container's freezer: cgroup v2's `frozen`, else v1's freezer.state. */
function frozen(s: ContainerState): boolean {
  const v2 = s.cgroups.find((c) => existsSync(path.join(c, 'cgroup.freeze')));
  if (v2) return readFileSync(path.join(v2, 'cgroup.events'), 'utf8').includes('frozen 1');
  const v1 = s.cgroups.find((c) => existsSync(path.join(c, 'freezer.state')));
  if (!v1) throw new Error(`no freezer among ${s.cgroups.join(', ')}`);
  return readFileSync(path.join(v1, 'freezer.state'), 'utf8').trim() === 'FROZEN';
}

const lastLine = async (c: { logs(): AsyncGenerator<{ log: string }> }): Promise<number> => {
  let out = '';
  for await (const e of c.logs()) out += e.log;
  return Number(out.trim().split('\n').pop());
};

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) return false;
    await delay(50);
  }
  return true;
}

test.serial('pause freezes the processes, unpause lets them go on; paused refuses kill/stop/exec; rm -f removes it', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const counter = 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done';
    const c = await f.rt.run({ name: 'counter', command: ['/bin/sh', '-c', counter], rootfs: f.rootfs.root });
    t.true(await eventually(async () => (await lastLine(c)) >= 3, 10_000), 'the counter runs');

    await c.pause();
    const paused = c.inspect();
    t.is(paused.status, 'paused');
    t.true(frozen(paused), "the kernel reports the container's cgroup frozen");
    const at = await lastLine(c);
    await delay(400);
    t.is(await lastLine(c), at, 'no progress while paused');

    // As docker: no signals, no stop, no exec into a frozen container; pausing twice is an error.
    await t.throwsAsync(c.kill('SIGTERM'), { instanceOf: ContainerStateError, message: /ERR_PAUSED/ });
    await t.throwsAsync(c.stop({ timeout: 1 }), { instanceOf: ContainerStateError });
    await t.throwsAsync(c.exec(['/bin/true'], { stdout: 'ignore', stderr: 'ignore' }).wait(), { message: /paused/ });
    await t.throwsAsync(c.pause(), { instanceOf: ContainerStateError });
    const ps = await runCli(['ps', '--format', 'json'], { env: { ...process.env, NSBOX_ROOT: f.root } });
    t.is(ps.code, 0, ps.stderr);
    t.is(JSON.parse(ps.stdout.trim().split('\n')[0]!).status, 'paused', 'ps shows it paused');

    // The CLI thaws it; it goes on from where it was.
    const un = await runCli(['unpause', 'counter'], { env: { ...process.env, NSBOX_ROOT: f.root } });
    t.is(un.code, 0, un.stderr);
    t.is(c.inspect().status, 'running');
    t.false(frozen(c.inspect()));
    t.true(await eventually(async () => (await lastLine(c)) > at + 2, 10_000), 'the counter goes on after unpause');
    await t.throwsAsync(c.unpause(), { instanceOf: ContainerStateError, message: /ERR_NOT_PAUSED/ });

    // Paused again, then removed by force: nothing is left (a frozen task takes SIGKILL only once thawed).
    const pause = await runCli(['pause', 'counter'], { env: { ...process.env, NSBOX_ROOT: f.root } });
    t.is(pause.code, 0, pause.stderr);
    const last = c.inspect();
    await c.remove({ force: true });
    t.deepEqual(leftovers(f.root, [last]), []);
  } finally {
    await f.dispose();
  }
});
