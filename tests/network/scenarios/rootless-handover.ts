/**
 * The namespace hand-over of rootless helpers (docs/networking.md, "The helper's lifetime") as
 * `nobody`, in the throwaway namespace playing the host (rootless-host.ts): the runtime hands the
 * container's user and network namespaces to the keeper as descriptors, the helper targets those
 * descriptors, the container is never dumpable while held at `created`, and a runtime that fails
 * before or after the hand-over leaves no keeper, helper or helper directory.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

import { report, until } from './common.js';
import { AS_NOBODY, cli, liveProcs, ofThisScenario, setupHost, XDG } from './rootless-host.js';

setupHost();
const facts: Record<string, unknown> = {};
const ls = (d: string) => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};
/** What a container of this scenario may leave: keepers, helpers, helper directories. */
const leftovers = () => ({
  keepers: liveProcs('keeper.sock').filter((p) => ofThisScenario(p.pid)).length,
  helpers: [...liveProcs('pasta'), ...liveProcs('slirp4netns')].filter((p) => ofThisScenario(p.pid) && (p.name === 'pasta' || p.name === 'slirp4netns')).length,
  dirs: ls(`${XDG}/nsbox/run/helpers`),
});
const link = (p: string) => {
  try {
    return readlinkSync(p);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'error';
  }
};
const containerPid = (name: string) => Number((JSON.parse(cli(['inspect', name]).stdout || '[{}]') as Array<{ pid?: number }>)[0]?.pid ?? 0);

// 1. The helper targets the handed-over descriptors: its fds 5 and 6 are the container's user and
// network namespaces (read here as root), and its command line names them, not /proc/PID.
// pasta with the default map: the keeper made them before the runtime cloned (org.nsbox.net-helper-
// namespaces: receive): its config says so, and the helper was spawned before the container's first
// process (pids grow; with the runtime's hand-over the helper comes after the clone). slirp4netns and
// an explicit map (--uidmap, the subordinate-ranges case) keep the runtime's hand-over.
// Without a pid namespace of its own (--ns without pid) the runtime could not stay out of the
// container's sight in the keeper's user namespace: pasta keeps the runtime's hand-over then.
for (const [key, helper, maps] of [
  ['pasta', 'pasta', []], ['slirp4netns', 'slirp4netns', []], ['explicitMap', 'pasta', ['--uidmap', '0:65534:1', '--gidmap', '0:65534:1']],
  ['noPidNs', 'pasta', ['--ns', 'user,mnt,net,uts,ipc']],
] as const) {
  const r = cli(['run', '-d', '--name', `h-${key}`, '--network', helper, ...maps, '--', 'sleep', '300']);
  const id = r.stdout.trim();
  const proc = liveProcs(id).find((p) => p.name === helper);
  const keeper = liveProcs(id).find((p) => p.args.includes('net-helper'));
  const pid = containerPid(`h-${key}`);
  facts[key] = {
    code: r.code, stderr: r.stderr, args: proc?.args.replace(/\0/g, ' ') ?? '',
    user: proc ? link(`/proc/${proc.pid}/fd/5`) : 'no helper', net: proc ? link(`/proc/${proc.pid}/fd/6`) : 'no helper',
    containerUser: link(`/proc/${pid}/ns/user`), containerNet: link(`/proc/${pid}/ns/net`),
    keeperMakes: /"makeNamespaces":true/.test(keeper?.args ?? ''), helperFirst: proc !== undefined && proc.pid < pid,
    // inspect's namespaces: which ones are the host's. The runtime entered the container's user
    // namespace before clone; the container's own user namespace must not read as shared.
    shared: ((JSON.parse(cli(['inspect', `h-${key}`]).stdout || '[{}]') as Array<{ namespaces?: Array<{ kind: string; shared: boolean }> }>)[0]?.namespaces ?? [])
      .filter((n) => n.shared).map((n) => n.kind).sort(),
  };
  cli(['rm', '-f', `h-${key}`]);
}

// 2. Held at `created` (network up, command not started): the container's process is not dumpable,
// so nobody (its own uid) cannot open its namespaces; once its command runs, it can.
const asNobody = (args: string[]) => spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), ...args], { encoding: 'utf8' });
const held = cli(['create', '--name', 'held', '--network', 'pasta', '--', 'sleep', '300']);
const heldPid = containerPid('held');
const whileHeld = asNobody(['readlink', '-v', `/proc/${heldPid}/ns/net`]);
const started = cli(['start', 'held']);
const whileRunning = asNobody(['readlink', '-v', `/proc/${heldPid}/ns/net`]);
facts.held = { create: held, pid: heldPid, whileHeld: { code: whileHeld.status, err: whileHeld.stderr.trim() }, start: started.code, whileRunning: { code: whileRunning.status, out: whileRunning.stdout.trim() } };
cli(['rm', '-f', 'held']);
await until(() => leftovers().helpers === 0 && leftovers().dirs.length === 0, 3000);
facts.afterGood = leftovers();

// 3. The runtime fails before the hand-over (the name is taken: refused before the container's
// first process exists) and after it (no such rootfs, a volume whose source is missing: the child
// fails setting them up while the helper starts): nothing is left either way.
const failures: Record<string, unknown> = {};
const taken = cli(['run', '-d', '--name', 'taken', '--network', 'none', '--', 'sleep', '300']);
for (const [name, args] of [
  ['rootfs', ['--rootfs', '/nonexistent-rootfs']],
  ['volume', ['-v', '/nonexistent-volume:/x']],
  ['volume-slirp', ['-v', '/nonexistent-volume:/x', '--network', 'slirp4netns']],
] as const) {
  const r = cli(['run', '--rm', '--network', 'pasta', ...args, '--', 'true']);
  await until(() => Object.values(leftovers()).every((v) => (Array.isArray(v) ? v.length === 0 : v === 0)), 3000);
  failures[name] = { code: r.code, stderr: r.stderr.trim(), left: leftovers() };
}
// The detached path (launch: create --monitor): a name taken is refused by the runtime before the
// container exists, so before the hand-over; and a missing rootfs after it.
for (const [name, args] of [['name', ['--name', 'taken']], ['detached', ['--rootfs', '/nonexistent-rootfs']]] as const) {
  const d = cli(['run', '-d', '--rm', '--network', 'pasta', ...args, '--', 'true']);
  await until(() => leftovers().keepers === 0 && leftovers().dirs.length === 0, 3000);
  failures[name] = { code: d.code, stderr: d.stderr.trim(), left: leftovers() };
}
cli(['rm', '-f', 'taken']);
facts.failures = { ...failures, takenFirst: taken.code };
report(facts);
