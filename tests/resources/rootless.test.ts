/**
 * Rootless on cgroup v2 with a delegated subtree (issue #11): as root the test makes a cgroup below
 * its own cgroup2 cgroup, hands it to `nobody` (the directory, cgroup.procs, cgroup.subtree_control,
 * as systemd delegates a user slice) and starts the CLI as nobody inside it. The container's cgroup
 * is made below it. This host's cgroup2 has no controllers (all are bound to v1), so a limit is
 * refused naming its controller; enabling delegated controllers in cgroup.subtree_control is
 * unit-tested on a cgroup2-shaped tree (nsbox-cgroups delegate.rs). Every cgroup made is removed.
 * CI budget: ~5 s.
 */
import { chownSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';

import { runCli } from '../helpers/cli.js';
import { AS_NOBODY, NOBODY, nobodyCannotRun } from '../helpers/nobody.js';
import { needsRoot } from '../helpers/privileged.js';
import { eventually, ownCgroupPaths } from './helpers.js';

/** Our own cgroup2 directory's child `name` (the `0::` line of /proc/self/cgroup, below the cgroup2 mount). */
function ownCgroup2(name: string): string {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');
  const v2 = mounts.filter((m) => m.split(' - ')[1]!.startsWith('cgroup2 ')).map((m) => m.split(' ')[4]!);
  const dir = ownCgroupPaths(name).find((d) => v2.some((m) => d.startsWith(`${m}/`)));
  if (!dir) throw new Error('no cgroup2 mount');
  return dir;
}

test.serial('rootless in a delegated cgroup2 subtree: the container\'s cgroup is made below it; limits needing missing controllers are refused by name', async (t) => {
  if (!needsRoot(t)) return;
  const why = nobodyCannotRun();
  if (why) throw new Error(`cannot run the CLI as nobody from this checkout: ${why}`);
  const deleg = ownCgroup2(`nsbox-deleg-${process.pid}`);
  const root = mkdtempSync(path.join(tmpdir(), 'nsbox-deleg-root-'));
  mkdirSync(deleg);
  try {
    for (const p of [deleg, path.join(deleg, 'cgroup.procs'), path.join(deleg, 'cgroup.subtree_control'), root]) chownSync(p, NOBODY, NOBODY);
    chmodSync(root, 0o755);
    // A shell moves itself in (as root: moving needs write access up to the common ancestor), then
    // becomes nobody and runs the CLI: nobody's processes live in the delegated cgroup.
    const inside = ['sh', '-c', 'echo $$ > "$0" && exec "$@"', path.join(deleg, 'cgroup.procs'), ...AS_NOBODY];
    const env = { ...process.env, HOME: '/nonexistent', XDG_RUNTIME_DIR: '' };
    const asNobody = (args: string[]) => runCli(args, { prefix: inside, env });
    const r = await asNobody(['run', '-d', '--root', root, '--name', 'deleg', '--', 'sleep', '30']);
    t.is(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const state = JSON.parse(readFileSync(path.join(root, id, 'state.json'), 'utf8')) as { cgroups: string[] };
    t.deepEqual(state.cgroups, [path.join(deleg, `nsbox-${id.slice(0, 32)}`)], 'one cgroup, below the delegated one');
    t.true(existsSync(state.cgroups[0]!));
    const pids = readFileSync(path.join(state.cgroups[0]!, 'cgroup.procs'), 'utf8').trim().split('\n');
    t.true(pids.length >= 1 && pids[0] !== '', 'the container runs in it');
    const rm = await asNobody(['rm', '-f', '--root', root, 'deleg']);
    t.is(rm.code, 0, rm.stderr);
    t.false(existsSync(state.cgroups[0]!), 'removed with the container');
    for (const [flag, controller] of [['--pids-limit=10', 'pids'], ['--memory=64m', 'memory']] as const) {
      const l = await asNobody(['run', '--root', root, flag, '--', 'true']);
      t.is(l.code, 125, `${flag}: ${l.stdout}`);
      t.regex(l.stderr, new RegExp(`^nsbox: ${flag.split('=')[0]}: ERR_RUNTIME: .*\\b${controller} controller`));
    }
  } finally {
    // The monitor and shells leave the delegated cgroup as they end; then it goes, with anything below.
    await eventually(() => readFileSync(path.join(deleg, 'cgroup.procs'), 'utf8').trim() === '', 5000);
    for (const d of readdirSync(deleg, { withFileTypes: true }).filter((e) => e.isDirectory())) rmdirSync(path.join(deleg, d.name));
    rmdirSync(deleg);
    rmSync(root, { recursive: true, force: true });
  }
});
