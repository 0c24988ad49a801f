/**
 * Issue #10, the config's content: `nsbox-runtime run --bundle B ID` honours each runtime-spec Linux
 * field or refuses it with a one-line error naming the field (exit 125, nothing left behind), never
 * ignoring it. Mount sources and options, rootfsPropagation, rlimits, oomScoreAdj, sysctl,
 * namespaces joined by path, no mount namespace, ociVersion, process.args at create, cgroupsPath
 * and resources (pids, memory), and capabilities the host cannot grant.
 */
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { ociConfig } from '../../ts/src/index.js';
import { keyValues } from '../helpers/lines.js';
import { needsRoot } from '../helpers/privileged.js';
import { makeBusyboxRootfs } from '../helpers/rootfs.js';
import { RUNTIME } from '../lifecycle/helpers.js';

type Config = ReturnType<typeof ociConfig> & { linux: Record<string, unknown>; process: Record<string, unknown>; mounts: Record<string, unknown>[] } & Record<string, unknown>;

/** CAP_SYS_RESOURCE (24) in this process's bounding set: the refusals below are for hosts without it. */
const HAS_SYS_RESOURCE = (() => {
  const bnd = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return (BigInt(`0x${bnd}`) >> 24n) & 1n ? true : false;
})();

interface Bundle {
  dir: string;
  root: string;
  id: string;
}

function bundle(t: ExecutionContext, script: string, edit: (c: Config) => void = () => {}, extra: object = {}): Bundle {
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  const config = ociConfig({ command: ['/bin/sh', '-c', script], rootfs: fs.root, ...extra }) as Config;
  edit(config);
  writeFileSync(path.join(fs.dir, 'config.json'), JSON.stringify(config));
  const root = mkdtempSync(path.join(tmpdir(), 'nsbox-spec-root-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return { dir: fs.dir, root, id: `spec-${randomBytes(4).toString('hex')}` };
}

function run(b: Bundle, cmd = 'run'): SpawnSyncReturns<string> {
  return spawnSync(RUNTIME, ['--root', b.root, cmd, '--bundle', b.dir, b.id], { encoding: 'utf8', timeout: 30_000 });
}

/** Runs, expects success, returns the KEY=VALUE lines the script printed. */
function runOk(t: ExecutionContext, b: Bundle): Record<string, string> {
  const r = run(b);
  t.is(r.status, 0, r.stderr);
  return keyValues(r.stdout);
}

/** Runs, expects the one-line refusal matching `re`, exit 125 and no container left. */
function runRefused(t: ExecutionContext, b: Bundle, re: RegExp, cmd = 'run'): void {
  const r = run(b, cmd);
  t.is(r.status, 125, `${r.stdout}\n${r.stderr}`);
  t.regex(r.stderr, re);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.notRegex(r.stderr, /Usage|panicked/);
  const left = readdirSync(b.root).filter((n) => !['names', 'events.jsonl', '.lock', '.seccomp-cache'].includes(n));
  t.deepEqual(left, [], 'no container state left');
}

/** The mountinfo line for `dest` (source and options included). */
function mountLine(mountinfo: string, dest: string): { opts: string; optional: string; fstype: string; source: string } {
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const f = left?.split(' ') ?? [];
    if (f[4] !== dest || !right) continue;
    const [fstype, source] = right.split(' ');
    return { opts: f[5] ?? '', optional: f.slice(6).join(' '), fstype: fstype ?? '', source: source ?? '' };
  }
  throw new Error(`${dest} not in mountinfo:\n${mountinfo}`);
}

test.serial('mount sources: only bind sources are bundle paths; proc and tmpfs keep theirs', (t) => {
  if (!needsRoot(t)) return;
  const b = bundle(t, 'cat /proc/self/mountinfo', (c) => {
    c.mounts.push({ destination: '/scratch', type: 'tmpfs', source: 'scratchfs', options: ['size=1m'] });
  });
  const r = run(b);
  t.is(r.status, 0, r.stderr);
  t.deepEqual([mountLine(r.stdout, '/proc').fstype, mountLine(r.stdout, '/proc').source], ['proc', 'proc']);
  t.deepEqual([mountLine(r.stdout, '/scratch').fstype, mountLine(r.stdout, '/scratch').source], ['tmpfs', 'scratchfs']);
});

test.serial('mount options: propagation applied after the mount, flags on binds via mount_setattr, unknown options as data', (t) => {
  if (!needsRoot(t)) return;
  const b = bundle(t, 'cat /proc/self/mountinfo', (c) => {
    c.mounts.push({ destination: '/shared', type: 'tmpfs', source: 'tmpfs', options: ['rshared', 'size=1m', 'noexec'] });
    c.mounts.push({ destination: '/unbind', type: 'tmpfs', source: 'tmpfs', options: ['unbindable', 'nosuid', 'ro'] });
    c.mounts.push({ destination: '/vol', type: 'bind', source: 'rootfs/etc', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec', 'noatime', 'rprivate'] });
  });
  const r = run(b);
  t.is(r.status, 0, r.stderr);
  const shared = mountLine(r.stdout, '/shared');
  t.regex(shared.optional, /shared:\d+/);
  t.regex(shared.opts, /noexec/);
  t.regex(mountLine(r.stdout, '/unbind').optional, /unbindable/);
  t.regex(mountLine(r.stdout, '/unbind').opts, /^ro,nosuid/);
  const vol = mountLine(r.stdout, '/vol');
  t.is(vol.opts, 'ro,nosuid,nodev,noexec,noatime', 'a bind takes its flags from the options, not from its source');
  t.notRegex(vol.optional, /shared|master/);
});

test.serial('mount options that cannot be done are refused, naming the option', (t) => {
  if (!needsRoot(t)) return;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] }, /^nsbox-runtime: mounts\[\d+\]\.options: ERR_INVALID_SPEC: "tmpcopyup" .* not supported/],
    [{ destination: '/t', type: 'bind', source: 'rootfs/etc', options: ['rbind', 'idmap'] }, /"idmap": id-mapped mounts are not supported/],
    [{ destination: '/t', type: 'bind', source: 'rootfs/etc', options: ['bind', 'sync'] }, /"sync" is a property of the source's filesystem/],
  ];
  for (const [m, re] of cases) runRefused(t, bundle(t, 'true', (c) => c.mounts.push(m)), re);
});

test.serial('runtime-spec fields the spec types do not model are refused by their path, never dropped; unknown properties are ignored', (t) => {
  if (!needsRoot(t)) return;
  const cases: [(c: Config) => void, RegExp][] = [
    [(c) => c.mounts.push({ destination: '/t', type: 'bind', source: 'rootfs/etc', options: ['rbind'], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }), /^nsbox-runtime: mounts\[\d+\]\.uidMappings: ERR_INVALID_SPEC: this runtime-spec field \(in config\.json\) is not supported/],
    [(c) => (c.linux.netDevices = { eth9: { name: 'eth0' } }), /^nsbox-runtime: linux\.netDevices: ERR_INVALID_SPEC/],
    [(c) => (c.linux.intelRdt = { closID: 'x', schemata: ['L3:0=f'] }), /^nsbox-runtime: linux\.intelRdt\.schemata: ERR_INVALID_SPEC/],
  ];
  for (const [edit, re] of cases) runRefused(t, bundle(t, 'true', edit), re);
  // a property no runtime-spec defines is ignored, as config.md's Extensibility section requires
  runOk(t, bundle(t, 'true', (c) => Object.assign(c, { unknown: 'unknown', linux: { ...c.linux, somethingNew: { x: 1 } } })));
});

test.serial('linux.rootfsPropagation: shared and unbindable apply to the container\'s /', (t) => {
  if (!needsRoot(t)) return;
  for (const [prop, want] of [['shared', /shared:\d+/], ['unbindable', /unbindable/]] as const) {
    const b = bundle(t, 'cat /proc/self/mountinfo', (c) => (c.linux.rootfsPropagation = prop));
    const r = run(b);
    t.is(r.status, 0, r.stderr);
    t.regex(mountLine(r.stdout, '/').optional, want, prop);
  }
  runRefused(t, bundle(t, 'true', (c) => (c.linux.rootfsPropagation = 'sideways')), /linux\.rootfsPropagation: ERR_INVALID_SPEC: "sideways" is not one of/);
});

test.serial('process.rlimits are set before exec; above the hard limit without CAP_SYS_RESOURCE is refused naming the rlimit', (t) => {
  if (!needsRoot(t)) return;
  const kv = runOk(t, bundle(t, 'echo "soft=$(ulimit -n)"; echo "hard=$(ulimit -Hn)"; echo "core=$(ulimit -c)"', (c) => {
    c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }];
  }));
  t.deepEqual([kv.soft, kv.hard, kv.core], ['100', '200', '0']);
  runRefused(t, bundle(t, 'true', (c) => (c.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }])), /config\.json: ERR_INVALID_SPEC: .*RLIMIT_FOO/);
  runRefused(t, bundle(t, 'true', (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 20, hard: 10 }])), /process\.rlimits\[0\]: ERR_INVALID_SPEC: RLIMIT_NOFILE: soft limit 20 is above the hard limit 10/);
  if (HAS_SYS_RESOURCE) return t.log('this host grants CAP_SYS_RESOURCE: the refusal is not testable here');
  const hard = Number(/Max open files\s+\d+\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
  runRefused(t, bundle(t, 'true', (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: hard + 1 }])),
    new RegExp(`^nsbox-runtime: setrlimit\\(RLIMIT_NOFILE\\): EPERM: RLIMIT_NOFILE: raising the hard limit to ${hard + 1} .*needs CAP_SYS_RESOURCE`));
});

test.serial('process.oomScoreAdj is written before exec; lowering it without CAP_SYS_RESOURCE is refused', (t) => {
  if (!needsRoot(t)) return;
  const kv = runOk(t, bundle(t, 'echo "adj=$(cat /proc/self/oom_score_adj)"', (c) => (c.process.oomScoreAdj = 500)));
  t.is(kv.adj, '500');
  runRefused(t, bundle(t, 'true', (c) => (c.process.oomScoreAdj = 1001)), /process\.oomScoreAdj: ERR_INVALID_SPEC: 1001 is outside -1000\.\.1000/);
  if (HAS_SYS_RESOURCE) return t.log('this host grants CAP_SYS_RESOURCE: the refusal is not testable here');
  const own = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
  runRefused(t, bundle(t, 'true', (c) => (c.process.oomScoreAdj = own - 1)), /write oom_score_adj\(\/proc\/self\/oom_score_adj\): EACCES: lowering oom_score_adj .* needs CAP_SYS_RESOURCE/);
});

test.serial('linux.sysctl: namespaced ones are written in the container\'s namespaces, others refused', (t) => {
  if (!needsRoot(t)) return;
  const hostShmmax = readFileSync('/proc/sys/kernel/shmmax', 'utf8');
  const kv = runOk(t, bundle(t, 'echo "shm=$(cat /proc/sys/kernel/shmmax)"; echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward)"', (c) => {
    c.linux.sysctl = { 'kernel.shmmax': '123456789', 'net.ipv4.ip_forward': '1' };
  }));
  t.deepEqual([kv.shm, kv.fwd], ['123456789', '1']);
  t.is(readFileSync('/proc/sys/kernel/shmmax', 'utf8'), hostShmmax, 'the host\'s value is untouched');
  runRefused(t, bundle(t, 'true', (c) => (c.linux.sysctl = { 'vm.swappiness': '1' })), /linux\.sysctl\.vm\.swappiness: ERR_INVALID_SPEC: is not a namespaced sysctl/);
  runRefused(t, bundle(t, 'true', (c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }), { namespaces: 'mnt,pid,ipc,uts'.split(',') }),
    /linux\.sysctl\.net\.ipv4\.ip_forward: ERR_INVALID_SPEC: needs a net namespace of the container's own/);
});

/** A process in a namespace of its own made by unshare(1), killed at teardown. */
function holder(t: ExecutionContext, flag: string): number {
  const p = spawn('unshare', [flag, 'sleep', '1000'], { stdio: 'ignore' });
  t.teardown(() => p.kill('SIGKILL'));
  const deadline = Date.now() + 5000;
  // unshare execs sleep in the new namespace: wait until it did.
  while (Date.now() < deadline) {
    try {
      if (readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep') return p.pid!;
    } catch {}
    spawnSync('sleep', ['0.02']);
  }
  throw new Error('unshare did not start');
}

test.serial('linux.namespaces with path: joined (also with a user namespace made after it); a path of another type is refused', (t) => {
  if (!needsRoot(t)) return;
  const pid = holder(t, '--net');
  const theirs = readlinkSync(`/proc/${pid}/ns/net`);
  t.not(theirs, readlinkSync('/proc/self/ns/net'));
  const join = (c: Config) => {
    const ns = c.linux.namespaces as { type: string; path?: string }[];
    c.linux.namespaces = [...ns.filter((n) => n.type !== 'network'), { type: 'network', path: `/proc/${pid}/ns/net` }];
  };
  const kv = runOk(t, bundle(t, 'echo "net=$(readlink /proc/self/ns/net)"', join));
  t.is(kv.net, theirs);
  // A new user namespace, made by the child after it joined the network namespace.
  const kv2 = runOk(t, bundle(t, 'echo "net=$(readlink /proc/self/ns/net)"; echo "user=$(readlink /proc/self/ns/user)"; echo "map=$(cat /proc/self/uid_map | tr -s " ")"', (c) => {
    join(c);
    c.linux.namespaces = (c.linux.namespaces as { type: string }[]).filter((n) => n.type !== 'pid');
  }, { namespaces: 'user,mnt,ipc,uts,net'.split(','), uidMap: [{ inside: 0, outside: 100000, length: 65536 }], gidMap: [{ inside: 0, outside: 100000, length: 65536 }] }));
  t.is(kv2.net, theirs);
  t.not(kv2.user, readlinkSync('/proc/self/ns/user'));
  t.is(kv2.map, ' 0 100000 65536');
  runRefused(t, bundle(t, 'true', (c) => {
    c.linux.namespaces = [...(c.linux.namespaces as { type: string }[]).filter((n) => n.type !== 'ipc'), { type: 'ipc', path: `/proc/${pid}/ns/net` }];
  }), new RegExp(`linux\\.namespaces: ERR_INVALID_SPEC: /proc/${pid}/ns/net is a net namespace, not a ipc namespace`));
});

/** `nsbox-runtime net-helper` making the namespaces (org.nsbox.net-helper-namespaces), `as` a user. */
function keeper(t: ExecutionContext, as: number): { socket: string; out: () => string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-spec-keeper-'));
  spawnSync('chown', [`${as}:${as}`, dir]);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, 'helper', 'keeper.sock');
  // /bin/false as the helper: it exits at once, so the keeper reports a failure after the hand-over
  // (and waits for its stdin to close): the container's namespaces are what is tested here.
  const config = { kind: 'pasta', helper: '/bin/false', socket, dir: path.join(dir, 'helper'), makeNamespaces: true };
  const args = [RUNTIME, 'net-helper', JSON.stringify(config)];
  const p = as === 0 ? spawn(args[0]!, args.slice(1)) : spawn('setpriv', [`--reuid=${as}`, `--regid=${as}`, '--clear-groups', ...args]);
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  t.teardown(() => {
    p.kill('SIGKILL');
  });
  return { socket, out: () => out };
}

test.serial('org.nsbox.net-helper-namespaces: the keeper makes the user and network namespaces, the container is made in them; refused where it cannot apply or from a keeper of another uid', async (t) => {
  if (!needsRoot(t)) return;
  const annotate = (socket: string | undefined, devices = false) => (c: Config) => {
    c.annotations = { ...(c.annotations as object), 'org.nsbox.net-helper-namespaces': 'receive', ...(socket ? { 'org.nsbox.net-helper-socket': socket } : {}) };
    if (!devices) delete (c.linux.resources as Record<string, unknown> | undefined)?.devices;
  };
  const userNet = { namespaces: 'user,mnt,pid,ipc,uts,net'.split(','), mapRootUser: true };
  const script = 'echo "user=$(readlink /proc/self/ns/user)"; echo "net=$(readlink /proc/self/ns/net)"; echo "map=$(cat /proc/self/uid_map | tr -s " ")"; echo "me=$$"';
  runRefused(t, bundle(t, 'true', annotate(undefined), userNet), /annotations\.org\.nsbox\.net-helper-namespaces: ERR_INVALID_SPEC: needs annotations\.org\.nsbox\.net-helper-socket/);
  runRefused(t, bundle(t, 'true', annotate('/x/k.sock', true), userNet), /annotations\.org\.nsbox\.net-helper-namespaces: ERR_INVALID_SPEC: cannot be used with linux\.resources\.devices/);
  runRefused(t, bundle(t, 'true', annotate('/x/k.sock'), { ...userNet, mapRootUser: false, uidMap: [{ inside: 0, outside: 100000, length: 65536 }], gidMap: [{ inside: 0, outside: 100000, length: 65536 }] }),
    /annotations\.org\.nsbox\.net-helper-namespaces: ERR_INVALID_SPEC: needs linux\.uidMappings and gidMappings to be the caller's own uid and gid as 0/);
  // A keeper of another uid (nobody) on the socket: refused before anything exists.
  const theirs = keeper(t, 65534);
  runRefused(t, bundle(t, 'true', annotate(theirs.socket), userNet), /receive namespaces from the network helper|hand namespaces to the network helper\(.*\): EPERM: the socket's process runs as uid 65534, not 0/);
  // Our own keeper: the container's user namespace is a new one with the spec's map, its network
  // namespace too, it is PID 1 of a new pid namespace (made in the received user namespace).
  const ours = keeper(t, 0);
  const kv = runOk(t, bundle(t, script, annotate(ours.socket), userNet));
  t.not(kv.user, readlinkSync('/proc/self/ns/user'));
  t.not(kv.net, readlinkSync('/proc/self/ns/net'));
  t.is(kv.map, ' 0 0 1');
  t.is(kv.me, '1');
  const deadline = Date.now() + 5000;
  while (!ours.out().includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const answer = JSON.parse(ours.out().split('\n')[0]!) as { ready: boolean; message: string };
  t.false(answer.ready);
  t.regex(answer.message, /pasta exited before it was ready/, 'the keeper served the runtime, then reported its helper');
});

/**
 * Runs the runtime inside a private mount namespace of its own (`unshare --mount`): without a
 * mount namespace for the container its mounts are made in the caller's, which must not be the
 * machine's. Prints the runtime's stdout, then that namespace's mountinfo after `---`.
 */
function runPrivate(b: Bundle): SpawnSyncReturns<string> {
  const script = '"$0" --root "$1" run --bundle "$2" "$3" && echo --- && cat /proc/self/mountinfo';
  return spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, RUNTIME, b.root, b.dir, b.id], { encoding: 'utf8', timeout: 30_000 });
}

test.serial('no mount namespace: the caller\'s mount tree, its mounts made there, chrooted to root.path', (t) => {
  if (!needsRoot(t)) return;
  // Built with a mount namespace (the builder wants one for a rootfs), then without it.
  const noMnt = (c: Config) => {
    c.linux.namespaces = (c.linux.namespaces as { type: string }[]).filter((n) => n.type !== 'mount');
    c.mounts = [];
    delete c.linux.maskedPaths;
    delete c.linux.readonlyPaths;
    c.root = { path: 'rootfs' };
  };
  const r = run(bundle(t, 'echo "root=$(ls / | tr "\\n" " ")"', noMnt, { namespaces: 'mnt,pid,ipc,uts,net'.split(',') }));
  t.is(r.status, 0, r.stderr);
  t.regex(keyValues(r.stdout).root ?? '', /^bin data dev etc/);
  // The host's own root: the same mount namespace as ours.
  const host = bundle(t, 'true', (c) => {
    noMnt(c);
    c.root = { path: '/' };
    c.process.args = ['/bin/readlink', '/proc/self/ns/mnt'];
  }, { namespaces: 'mnt,ipc,uts'.split(',') });
  const r2 = run(host);
  t.is(r2.status, 0, r2.stderr);
  t.is(r2.stdout.trim(), readlinkSync('/proc/self/ns/mnt'));
  // Mounts: made below root.path in the caller's mount namespace (as runc and crun do), where they
  // stay after the container is gone; the container sees them at their destinations.
  const withMounts = bundle(t, 'echo "t=$(stat -f -c %T /t)"; echo "proc=$(stat -f -c %T /proc)"', (c) => {
    noMnt(c);
    c.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }];
  }, { namespaces: 'mnt,pid,ipc,uts,net'.split(',') });
  const r3 = runPrivate(withMounts);
  t.is(r3.status, 0, r3.stderr);
  const [out = '', mountinfo = ''] = r3.stdout.split('---\n');
  t.deepEqual(keyValues(out), { t: 'tmpfs', proc: 'proc' });
  const rootfs = path.join(withMounts.dir, 'rootfs');
  t.is(mountLine(mountinfo, path.join(rootfs, 't')).fstype, 'tmpfs');
  t.is(mountLine(mountinfo, path.join(rootfs, 'proc')).fstype, 'proc');
  // A mount that fails takes down the ones made before it: the caller's mount table is as it was.
  const failing = bundle(t, 'true', (c) => {
    noMnt(c);
    c.mounts = [{ destination: '/t', type: 'tmpfs', source: 'tmpfs' }, { destination: '/u', type: 'nsbox-no-such-fs', source: 'x' }];
  }, { namespaces: 'mnt,pid,ipc,uts,net'.split(',') });
  const undo = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', '"$0" --root "$1" run --bundle "$2" "$3"; echo "rc=$?"; cat /proc/self/mountinfo', RUNTIME, failing.root, failing.dir, failing.id], { encoding: 'utf8', timeout: 30_000 });
  t.regex(undo.stdout, /^rc=125$/m, undo.stderr);
  t.regex(undo.stderr, /nsbox-no-such-fs/);
  t.false(undo.stdout.includes(path.join(failing.dir, 'rootfs', 't')), 'the tmpfs made first was unmounted again');
  // exec joins it there: chrooted to the same root (not the caller's /), seeing the same mounts.
  const detached = bundle(t, 'sleep 600', (c) => {
    noMnt(c);
    c.mounts = [{ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }];
  }, { namespaces: 'mnt,pid,ipc,uts,net'.split(',') });
  const script = 'R="$0"; "$R" --root "$1" run -d --bundle "$2" "$3" >/dev/null || exit 1; '
    + '"$R" --root "$1" exec "$3" /bin/sh -c \'echo "root=$(ls / | tr "\\n" " ")"; echo "t=$(stat -f -c %T /t)"\'; rc=$?; '
    + '"$R" --root "$1" delete --force "$3"; exit $rc';
  const r5 = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, RUNTIME, detached.root, detached.dir, detached.id], { encoding: 'utf8', timeout: 30_000 });
  t.is(r5.status, 0, r5.stderr);
  t.regex(keyValues(r5.stdout).root ?? '', /^bin data dev etc/);
  t.is(keyValues(r5.stdout).t, 'tmpfs');
  // What would change what the caller already has stays refused: masks, and mounts over the
  // caller's own root.
  runRefused(t, bundle(t, 'true', (c) => {
    noMnt(c);
    c.linux.maskedPaths = ['/etc'];
  }, { namespaces: 'mnt,pid'.split(',') }), /^nsbox-runtime: linux\.maskedPaths: ERR_INVALID_SPEC: needs a mount namespace/);
  const overHost = bundle(t, 'true', (c) => {
    noMnt(c);
    c.root = { path: '/' };
    c.mounts = [{ destination: '/nsbox-never-here', type: 'tmpfs', source: 'tmpfs' }];
  }, { namespaces: 'mnt,pid'.split(',') });
  const r4 = runPrivate(overHost);
  t.is(r4.status, 125, r4.stderr);
  t.regex(r4.stderr, /^nsbox-runtime: mount\(\/\): EINVAL: without a mount namespace the mounts would be made over the caller's own root/);
  t.false(existsSync('/nsbox-never-here'));
});

test.serial('ociVersion must be a runtime-spec version this runtime implements; process.args is checked at create', (t) => {
  if (!needsRoot(t)) return;
  runRefused(t, bundle(t, 'true', (c) => (c.ociVersion = 'invalid')), /^nsbox-runtime: ociVersion: ERR_INVALID_SPEC: "invalid" is not a semantic version/);
  runRefused(t, bundle(t, 'true', (c) => (c.ociVersion = '2.0.0')), /"2\.0\.0" is not a runtime-spec version this runtime implements/);
  t.is(run(bundle(t, 'true', (c) => (c.ociVersion = '1.0.2-dev'))).status, 0);
  runRefused(t, bundle(t, 'true', (c) => delete c.process.args), /process\.args: ERR_INVALID_SPEC: at least one argument \(the command\) is required/, 'create');
});

/** This process's cgroup path in each hierarchy (by controller list), from /proc/self/cgroup. */
function ownCgroups(): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, ctrls, p] = l.split(':');
    m.set(ctrls ?? '', p ?? '/');
  }
  return m;
}

function pidsDir(): string {
  return `/sys/fs/cgroup/pids${ownCgroups().get('pids') === '/' ? '' : ownCgroups().get('pids')}`;
}

test.serial('linux.cgroupsPath: relative below our own cgroup, absolute below each root; removed after, parents too', (t) => {
  if (!needsRoot(t)) return;
  if (!existsSync('/sys/fs/cgroup/pids/cgroup.procs')) return t.fail('needs the v1 pids hierarchy of this host');
  const tag = randomBytes(4).toString('hex');
  const rel = `nsbox-spec-${tag}/ctr`;
  const kv = runOk(t, bundle(t, 'echo "cg=$(grep pids /proc/self/cgroup | cut -d: -f3)"', (c) => (c.linux.cgroupsPath = rel), { namespaces: 'mnt,pid,ipc,uts,net'.split(',') }));
  const own = ownCgroups().get('pids')!;
  t.is(kv.cg, path.posix.join(own, rel));
  t.false(existsSync(path.join(pidsDir(), `nsbox-spec-${tag}`)), 'the leaf and the parent made for it are gone');
  // Absolute: below every hierarchy's root, so a path that is below our own cgroup in each.
  const owns = [...ownCgroups().values()];
  const deepest = owns.reduce((a, b) => (b.length > a.length ? b : a), '/');
  if (!owns.every((o) => deepest === o || deepest.startsWith(o === '/' ? '/' : `${o}/`))) return t.log('our cgroups differ per hierarchy: no absolute path is below all of them');
  const abs = path.posix.join(deepest, `nsbox-spec-abs-${tag}`);
  const kv2 = runOk(t, bundle(t, 'echo "cg=$(grep pids /proc/self/cgroup | cut -d: -f3)"', (c) => (c.linux.cgroupsPath = abs), { namespaces: 'mnt,pid,ipc,uts,net'.split(',') }));
  t.is(kv2.cg, abs);
  t.false(existsSync(`/sys/fs/cgroup/pids${abs}`));
  runRefused(t, bundle(t, 'true', (c) => (c.linux.cgroupsPath = 'system.slice:nsbox:x')), /linux\.cgroupsPath: ERR_INVALID_SPEC: .*systemd's slice:prefix:name form/);
  // An existing cgroup is not ours: refused, and left as it was.
  const mine = mkdtempSync(path.join(pidsDir(), 'nsbox-spec-existing-'));
  t.teardown(() => rmdirSync(mine));
  runRefused(t, bundle(t, 'true', (c) => (c.linux.cgroupsPath = path.basename(mine))), /mkdir\(.*\): EEXIST: the cgroup already exists/);
  t.true(existsSync(mine));
});

test.serial('linux.resources: pids.max and the memory limit are enforced; fields this host cannot write are refused', (t) => {
  if (!needsRoot(t)) return;
  const forks = 'i=0; while [ $i -lt 12 ]; do sleep 3 & i=$((i+1)); done; echo "spawned=$(jobs -p | wc -l)"';
  const r = run(bundle(t, forks, (c) => (c.linux.resources = { pids: { limit: 5 } })));
  // busybox sh gives up on the script (exit 2) at the first fork pids.max refuses.
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /can't fork: Resource temporarily unavailable/);
  const fill = 'dd if=/dev/zero of=/fill/small bs=1M count=8 2>/dev/null; echo "small=$?"; dd if=/dev/zero of=/fill/big bs=1M count=96 2>/dev/null; echo "big=$?"';
  const kv = runOk(t, bundle(t, fill, (c) => {
    c.mounts.push({ destination: '/fill', type: 'tmpfs', source: 'tmpfs', options: ['size=256m'] });
    c.linux.resources = { memory: { limit: 48 << 20, swap: 48 << 20 } };
  }));
  t.is(kv.small, '0');
  t.is(kv.big, '137', 'killed by the memory cgroup\'s OOM killer');
  for (const [res, re] of [
    [{ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }, /linux\.resources\.hugepageLimits: ERR_INVALID_SPEC: hugetlb limits are not supported/],
    // Throttling is written (tests/resources); a weight needs BFQ, which this host's devices do not use.
    [{ blockIO: { weight: 100 } }, /linux\.resources\.blockIO\.weight: ERR_RUNTIME: this kernel has no proportional I\/O weight/],
    [{ blockIO: { leafWeight: 100 } }, /linux\.resources\.blockIO\.leafWeight: ERR_INVALID_SPEC/],
    [{ network: { classID: 1 } }, /linux\.resources\.network: ERR_INVALID_SPEC/],
  ] as const) {
    runRefused(t, bundle(t, 'true', (c) => (c.linux.resources = res)), re);
  }
});

test.serial('capabilities: one the host cannot grant is refused by name; our own builder asks only for what is held', (t) => {
  if (!needsRoot(t)) return;
  // --privileged: every capability this host allows, and it runs.
  const kv = runOk(t, bundle(t, 'echo "caps=$(grep CapEff /proc/self/status | cut -f2)"', () => {}, { privileged: true }));
  t.is(kv.caps, /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
  if (HAS_SYS_RESOURCE) return t.log('this host grants CAP_SYS_RESOURCE: the refusal is not testable here');
  runRefused(t, bundle(t, 'true', (c) => {
    const caps = c.process.capabilities as Record<string, string[]>;
    for (const set of ['bounding', 'effective', 'permitted']) caps[set] = [...(caps[set] ?? []), 'CAP_SYS_RESOURCE'];
  }), /^nsbox-runtime: capabilities\(CAP_SYS_RESOURCE\): EPERM: CAP_SYS_RESOURCE cannot be granted: the runtime does not hold it/);
  t.throws(() => ociConfig({ command: ['true'], capAdd: ['SYS_RESOURCE'] }), { message: /CAP_SYS_RESOURCE cannot be granted/ });
});

test.serial('fields this runtime does not implement are refused by name', (t) => {
  if (!needsRoot(t)) return;
  const cases: [(c: Config) => void, RegExp, object?][] = [
    [(c) => (c.process.apparmorProfile = 'x'), /process\.apparmorProfile: ERR_INVALID_SPEC: AppArmor is not supported/],
    [(c) => (c.process.selinuxLabel = 'x'), /process\.selinuxLabel: ERR_INVALID_SPEC: SELinux is not supported/],
    [(c) => (c.linux.mountLabel = 'x'), /linux\.mountLabel: ERR_INVALID_SPEC: SELinux is not supported/],
    [(c) => ((c.process.user as Record<string, unknown>).username = 'root'), /process\.user\.username: ERR_INVALID_SPEC: user names are not resolved/],
    [(c) => (c.linux.intelRdt = { closID: 'x' }), /linux\.intelRdt: ERR_INVALID_SPEC/],
    [(c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' }), /linux\.memoryPolicy: ERR_INVALID_SPEC: NUMA memory policies are not supported/],
    [(c) => (c.hostname = 'h'), /^nsbox-runtime: hostname: ERR_INVALID_SPEC: needs a uts namespace/, { namespaces: 'mnt,pid'.split(',') }],
    [(c) => (c.linux.personality = { domain: 'LINUX', flags: ['x'] }), /linux\.personality\.flags: ERR_INVALID_SPEC/],
  ];
  for (const [edit, re, extra] of cases) runRefused(t, bundle(t, 'true', edit, extra ?? {}), re);
});

test.serial('umask, personality, ioPriority, scheduler and execCPUAffinity are applied', (t) => {
  if (!needsRoot(t)) return;
  const script = 'echo "umask=$(umask)"; echo "arch=$(uname -m)"; echo "nice=$(cut -d" " -f19 /proc/self/stat)"; echo "policy=$(cut -d" " -f41 /proc/self/stat)"; echo "cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)"';
  const kv = runOk(t, bundle(t, script, (c) => {
    (c.process.user as Record<string, unknown>).umask = 0o27;
    c.linux.personality = { domain: 'LINUX32' };
    c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
    c.process.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
    c.process.execCPUAffinity = { initial: '0', final: '0' };
  }));
  t.is(kv.umask, '0027');
  t.is(kv.arch, process.arch === 'x64' ? 'i686' : kv.arch);
  t.is(kv.nice, '7');
  t.is(kv.policy, '3', 'SCHED_BATCH');
  t.is(kv.cpus, '0');
});

test.serial('process.consoleSize is the pty\'s size', (t) => {
  if (!needsRoot(t)) return;
  const r = run(bundle(t, 'echo "size=$(stty size)"', (c) => {
    c.process.terminal = true;
    c.process.consoleSize = { height: 33, width: 99 };
  }));
  t.is(r.status, 0, r.stderr);
  t.is(keyValues(r.stdout.replace(/\r/g, '')).size, '33 99');
});
