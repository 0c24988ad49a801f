/**
 * `hostInfo()`: what this host offers nsbox, docker-info style. Everything is read from /proc, /sys,
 * /etc and the runtime's `--version`; nothing is changed. Each feature the caller would miss comes
 * with the remedy (`features[]`, `ok: false`).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { icmpAvailability } from './lifecycle/network-helper.js';
import { defaultRoot, listStates } from './lifecycle/state.js';
import { nativeCoreVersion } from './native.js';
import { listNetworks } from './network/api.js';
import { runtimePath } from './platform.js';
import { version } from './version.js';

export interface IdRange { start: number; count: number }

export interface HostFeature {
  /** Short name: `user namespaces`, `subuid`, `cgroup freezer`, … */
  name: string;
  ok: boolean;
  /** What was found, e.g. `kernel.unprivileged_userns_clone = 1`. */
  detail: string;
  /** When not ok: what nsbox cannot do without it, and how to get it. */
  remedy?: string;
}

export interface HostInfo {
  versions: { nsbox: string; core: string | null; runtime: string | null; runtimePath: string; kernel: string; node: string; libseccomp: string | null };
  host: { os: string | null; arch: string; cpus: number; memoryBytes: number; uid: number; gid: number; user: string | null; root: boolean };
  cgroups: {
    layout: 'v2' | 'v1' | 'hybrid' | 'none';
    /** Where cgroup2 is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` when hybrid). */
    v2Mount: string | null;
    /** v1 hierarchies: controllers → mount point. */
    v1Mounts: Record<string, string>;
    /** Controllers of the v2 root, and those bound to v1 hierarchies. */
    v2Controllers: string[];
    v1Controllers: string[];
    /** This process's cgroup in the v2 hierarchy (or the first v1 one). */
    own: string | null;
    /** Whether the caller can create cgroups below its own (root, or a delegated v2 subtree). */
    writable: boolean;
  };
  userNamespaces: {
    kernel: boolean;
    maxUserNamespaces: number | null;
    /** Debian/Ubuntu's kernel.unprivileged_userns_clone (null where the kernel has no such switch). */
    unprivilegedUsernsClone: number | null;
    /** Ubuntu's kernel.apparmor_restrict_unprivileged_userns (null where absent). */
    apparmorRestrictUnprivileged: number | null;
    subuid: IdRange[];
    subgid: IdRange[];
    newuidmap: string | null;
    newgidmap: string | null;
  };
  timeNamespace: boolean;
  overlay: { kernel: boolean; inUserNamespace: boolean };
  seccomp: { kernel: boolean; actions: string[]; libseccomp: string | null };
  /** `usable`: `nft list tables` worked (root only; null when not tried). */
  nftables: { nft: string | null; version: string | null; usable: boolean | null };
  /** `usable`: the caller can open it read-write (pasta and slirp4netns must). */
  tun: { path: string; present: boolean; mode: string | null; usable: boolean };
  /** net.ipv4.ping_group_range and whether it lets the caller's groups open ping sockets (a rootless container's ICMP). */
  icmp: { range: string | null; allowed: boolean };
  roots: { state: string; networks: string; leases: string };
  containers: { total: number; running: number; paused: number; stopped: number } | null;
  networks: number | null;
  /** Why containers or networks could not be counted. */
  errors: string[];
  features: HostFeature[];
}

export interface HostInfoOptions {
  /** State root (default: NSBOX_ROOT, /run/nsbox as root, $XDG_RUNTIME_DIR/nsbox otherwise). */
  root?: string;
}

const read = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};
const readNumber = (file: string): number | null => {
  const s = read(file);
  const n = s === null ? NaN : Number.parseInt(s.trim(), 10);
  return Number.isFinite(n) ? n : null;
};

function which(name: string, extra: string[] = []): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...extra];
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch { /* next */ }
  }
  return null;
}

function run(file: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5000 }, (err, stdout) => resolve(err ? null : stdout.trim()));
  });
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = os.release().split(/[.-]/).map((x) => Number.parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

/** `ls -l`'s mode string for a device or file, e.g. `crw-rw-rw-`. */
function modeString(mode: number): string {
  const type = (mode & 0o170000) === 0o020000 ? 'c' : (mode & 0o170000) === 0o060000 ? 'b' : (mode & 0o170000) === 0o040000 ? 'd' : '-';
  const rwx = (bits: number) => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  return type + rwx((mode >> 6) & 7) + rwx((mode >> 3) & 7) + rwx(mode & 7);
}

/** /etc/subuid or /etc/subgid ranges of the caller (by name or by number). */
export function subordinateRanges(file: string, user: string | null, uid: number): IdRange[] {
  return (read(file) ?? '').split('\n').flatMap((line) => {
    const [who, start, count] = line.trim().split(':');
    if (!who || (who !== user && who !== String(uid))) return [];
    const s = Number(start);
    const c = Number(count);
    return Number.isInteger(s) && Number.isInteger(c) && c > 0 ? [{ start: s, count: c }] : [];
  });
}

interface MountInfo { point: string; root: string; fstype: string; superOpts: string }

function mounts(): MountInfo[] {
  return (read('/proc/self/mountinfo') ?? '').split('\n').flatMap((line) => {
    const [left, right] = line.split(' - ');
    if (!left || !right) return [];
    const l = left.split(' ');
    const r = right.split(' ');
    return [{ point: l[4] ?? '', root: l[3] ?? '', fstype: r[0] ?? '', superOpts: r[2] ?? '' }];
  });
}

const V1_NOT_CONTROLLERS = new Set(['rw', 'ro', 'xattr', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'memory_localevents', 'memory_recursiveprot', 'nsdelegate']);

function cgroupInfo(root: boolean): HostInfo['cgroups'] {
  const all = mounts();
  const v2 = all.find((m) => m.fstype === 'cgroup2' && m.root === '/');
  const v1Mounts: Record<string, string> = {};
  for (const m of all) {
    if (m.fstype !== 'cgroup' || m.root !== '/') continue;
    const ctrls = m.superOpts.split(',').filter((o) => o.startsWith('name=') || !(o.includes('=') || V1_NOT_CONTROLLERS.has(o)));
    if (ctrls.length) v1Mounts[ctrls.join(',')] = m.point;
  }
  const v1Controllers = Object.keys(v1Mounts).flatMap((k) => k.split(',')).filter((c) => !c.startsWith('name=')).sort();
  const hasV1 = v1Controllers.length > 0;
  const layout = v2 && hasV1 ? 'hybrid' : v2 ? 'v2' : hasV1 ? 'v1' : 'none';
  const v2Controllers = v2 ? (read(path.join(v2.point, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean) : [];
  const self = (read('/proc/self/cgroup') ?? '').split('\n').map((l) => l.split(':'));
  const own = self.find((p) => p[0] === '0')?.[2] ?? self.find((p) => p.length >= 3)?.[2] ?? null;
  let writable = root;
  if (!root && v2 && own !== null && layout === 'v2') {
    try {
      accessSync(path.join(v2.point, own), constants.W_OK);
      accessSync(path.join(v2.point, own, 'cgroup.subtree_control'), constants.W_OK);
      writable = true;
    } catch { /* not delegated */ }
  }
  return { layout, v2Mount: v2?.point ?? null, v1Mounts, v2Controllers, v1Controllers, own, writable };
}

/** The libseccomp the runtime loads, by the shared object's real name (libseccomp.so.2.5.4 → 2.5.4). */
function libseccompVersion(): string | null {
  const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu', riscv64: 'riscv64-linux-gnu' }[process.arch as string];
  const dirs = [multiarch && `/lib/${multiarch}`, multiarch && `/usr/lib/${multiarch}`, '/usr/lib64', '/lib64', '/usr/lib', '/lib'].filter((d): d is string => !!d);
  for (const d of dirs) {
    try {
      const real = realpathSync(path.join(d, 'libseccomp.so.2'));
      const m = /libseccomp\.so\.(\d+(?:\.\d+)*)$/.exec(real);
      if (m) return m[1]!;
    } catch { /* next */ }
  }
  return null;
}

function osName(): string | null {
  const rel = read('/etc/os-release') ?? read('/usr/lib/os-release');
  const m = rel && /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(rel);
  return m ? m[1]! : null;
}

function setuidNote(file: string | null): string {
  if (!file) return 'missing';
  try {
    return (statSync(file).mode & 0o4000) ? `${file} (setuid)` : `${file} (not setuid: needs file capabilities)`;
  } catch {
    return file;
  }
}

const fmtRanges = (r: IdRange[]): string => (r.length ? r.map((x) => `${x.start}-${x.start + x.count - 1}`).join(', ') : 'none');

/** The checklist: each feature for this caller, with the remedy when it is missing. */
function features(i: Omit<HostInfo, 'features'>): HostFeature[] {
  const f: HostFeature[] = [];
  const { root } = i.host;
  const un = i.userNamespaces;
  const user = i.host.user ?? String(i.host.uid);
  f.push({
    name: 'user namespaces', ok: un.kernel && un.maxUserNamespaces !== 0,
    detail: un.kernel ? `user.max_user_namespaces = ${un.maxUserNamespaces ?? '?'}` : 'no /proc/self/ns/user (kernel without CONFIG_USER_NS)',
    remedy: !un.kernel ? '--ns user, --uidmap and rootless use need a kernel with CONFIG_USER_NS' : 'set `sysctl -w user.max_user_namespaces=15000` (and in /etc/sysctl.d/ to keep it)',
  });
  if (!root) {
    const clone = un.unprivilegedUsernsClone;
    f.push({
      name: 'unprivileged user namespaces', ok: clone !== 0 && un.apparmorRestrictUnprivileged !== 1,
      detail: [clone === null ? null : `kernel.unprivileged_userns_clone = ${clone}`, un.apparmorRestrictUnprivileged === null ? null : `kernel.apparmor_restrict_unprivileged_userns = ${un.apparmorRestrictUnprivileged}`].filter(Boolean).join(', ') || 'no restricting sysctl',
      remedy: clone === 0 ? 'without root every container needs one: `sudo sysctl -w kernel.unprivileged_userns_clone=1`' : 'without root every container needs one: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile for node that allows userns',
    });
  }
  f.push({
    name: 'subuid/subgid', ok: root || (un.subuid.length > 0 && un.subgid.length > 0),
    detail: `${user}: subuid ${fmtRanges(un.subuid)}; subgid ${fmtRanges(un.subgid)}`,
    remedy: `without root, maps beyond your own id (--uidmap with more than one range) need ranges: \`sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}\``,
  });
  f.push({
    name: 'newuidmap/newgidmap', ok: root || (un.newuidmap !== null && un.newgidmap !== null),
    detail: `newuidmap ${setuidNote(un.newuidmap)}, newgidmap ${setuidNote(un.newgidmap)}`,
    remedy: 'without root, maps beyond your own id are written by them: `sudo apt-get install uidmap`',
  });
  f.push({ name: 'time namespace', ok: i.timeNamespace, detail: i.timeNamespace ? '/proc/self/ns/time' : 'no /proc/self/ns/time', remedy: '--boottime-offset and --monotonic-offset need Linux >= 5.6 with CONFIG_TIME_NS' });
  const cg = i.cgroups;
  f.push({
    name: 'cgroups', ok: cg.layout !== 'none',
    detail: cg.layout === 'none' ? 'no cgroup filesystem mounted' : `${cg.layout}${cg.writable ? '' : ' (not writable by you)'}`,
    remedy: 'mount cgroup2 on /sys/fs/cgroup (`mount -t cgroup2 none /sys/fs/cgroup`): containers get no cgroup of their own, pause and device rules are unavailable',
  });
  if (cg.layout !== 'none' && !cg.writable) {
    f.push({ name: 'cgroup delegation', ok: false, detail: `${cg.own ?? '?'} is not writable by uid ${i.host.uid}`, remedy: 'run as root, or inside a delegated systemd scope (`systemd-run --user --scope -p Delegate=yes …`): otherwise containers share your cgroup and cannot be paused' });
  }
  const freezer = cg.v1Controllers.includes('freezer') || (cg.v2Mount !== null && kernelAtLeast(5, 2));
  f.push({ name: 'cgroup freezer', ok: cg.layout === 'none' ? false : freezer, detail: cg.v1Controllers.includes('freezer') ? 'v1 freezer controller' : cg.v2Mount ? 'cgroup.freeze (v2)' : 'none', remedy: '`nsbox pause` needs the v1 freezer controller or cgroup v2 on Linux >= 5.2' });
  const devices = cg.v1Controllers.includes('devices') || cg.v2Mount !== null;
  f.push({ name: 'device rules', ok: devices, detail: cg.v1Controllers.includes('devices') ? 'v1 devices controller' : cg.v2Mount ? 'BPF device programs (v2)' : 'none', remedy: 'deny-by-default device access needs the v1 devices controller or cgroup v2' });
  f.push({
    name: 'overlayfs', ok: i.overlay.kernel,
    detail: i.overlay.kernel ? `in user namespaces: ${i.overlay.inUserNamespace ? 'yes' : 'no'}` : 'not in /proc/filesystems',
    remedy: '`sudo modprobe overlay` (and Linux >= 5.11 for mounts inside user namespaces)',
  });
  const sc = i.seccomp;
  f.push({
    name: 'seccomp', ok: sc.kernel && sc.libseccomp !== null,
    detail: `kernel ${sc.kernel ? `filters (${sc.actions.join(' ') || 'actions unknown'})` : 'no'}, libseccomp ${sc.libseccomp ?? 'not found'}`,
    remedy: !sc.kernel ? 'the default profile needs a kernel with CONFIG_SECCOMP_FILTER' : 'the runtime loads libseccomp.so.2: `sudo apt-get install libseccomp2`',
  });
  if (sc.kernel && !sc.actions.includes('user_notif')) f.push({ name: 'seccomp notify', ok: false, detail: 'no user_notif action', remedy: 'SCMP_ACT_NOTIFY profiles need Linux >= 5.0' });
  const nt = i.nftables;
  f.push({
    name: 'nftables', ok: nt.nft !== null && nt.usable !== false,
    detail: nt.nft ? `${nt.nft}${nt.version ? ` (${nt.version})` : ''}${nt.usable === false ? ': `nft list tables` failed' : ''}` : 'nft not found',
    remedy: nt.nft ? 'the kernel refuses nftables: `sudo modprobe nf_tables`' : 'published ports (-p) and network isolation rules are written with nft: `sudo apt-get install nftables`',
  });
  f.push({
    name: '/dev/net/tun', ok: i.tun.present && (i.host.root || i.tun.usable), detail: i.tun.present ? `${i.tun.mode ?? ''}${i.tun.usable ? '' : `, not openable by uid ${i.host.uid}`}` : 'missing',
    remedy: i.tun.present
      ? 'rootless networking (pasta, slirp4netns) opens it: `sudo chmod 0666 /dev/net/tun` (Debian\'s default; keep it with a udev rule KERNEL=="tun", MODE="0666")'
      : 'user-mode networking (slirp4netns, pasta) opens it: `sudo modprobe tun` (or `sudo mknod -m 0666 /dev/net/tun c 10 200`)',
  });
  if (!i.host.root) {
    f.push({
      name: 'ICMP from rootless containers', ok: i.icmp.allowed, detail: `net.ipv4.ping_group_range ${i.icmp.range ?? 'unreadable'}`,
      remedy: 'pasta and slirp4netns forward ping through ping sockets, which this range denies to your groups: `sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"` (and in /etc/sysctl.d/ to keep it)',
    });
  }
  return f.map((x) => (x.ok ? { name: x.name, ok: true, detail: x.detail } : x));
}

/** What this host offers nsbox: versions, kernel features, roots and counts, and every missing feature's remedy. */
export async function hostInfo(o: HostInfoOptions = {}): Promise<HostInfo> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const root = uid === 0;
  let user: string | null = null;
  try {
    user = os.userInfo().username;
  } catch { /* no passwd entry */ }
  const rt = runtimePath();
  const nft = process.env.NSBOX_NFT || ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft', '/usr/local/sbin/nft'].find((p) => existsSync(p)) || which('nft');
  const errors: string[] = [];
  const [runtimeVersion, nftVersion, nftTables, networks] = await Promise.all([
    run(rt, ['--version']),
    nft ? run(nft, ['--version']) : Promise.resolve(null),
    nft && root ? run(nft, ['list', 'tables']) : Promise.resolve(undefined),
    listNetworks(o.root ? { root: o.root } : {}).then((n) => n.length, (e: Error) => { errors.push(`networks: ${e.message}`); return null; }),
  ]);
  let core: string | null = null;
  try {
    core = nativeCoreVersion();
  } catch (e) {
    errors.push(`addon: ${(e as Error).message}`);
  }
  const stateRoot = o.root ? path.resolve(o.root) : defaultRoot();
  let containers: HostInfo['containers'] = null;
  try {
    const states = listStates(stateRoot);
    const count = (s: string) => states.filter((x) => x.status === s).length;
    containers = { total: states.length, running: count('running'), paused: count('paused'), stopped: states.length - count('running') - count('paused') };
  } catch (e) {
    errors.push(`containers: ${(e as Error).message}`);
  }
  const netRoot = o.root ?? (process.env.NSBOX_ROOT || null);
  const status = read('/proc/self/status') ?? '';
  const filesystems = read('/proc/filesystems') ?? '';
  const overlayKernel = /\toverlay$/m.test(filesystems) || existsSync('/sys/module/overlay');
  let tun: HostInfo['tun'] = { path: '/dev/net/tun', present: false, mode: null, usable: false };
  try {
    tun = { path: '/dev/net/tun', present: true, mode: modeString(statSync('/dev/net/tun').mode), usable: false };
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
    tun.usable = true;
  } catch { /* missing, or not openable */ }
  const info: Omit<HostInfo, 'features'> = {
    versions: {
      nsbox: version, core, runtime: runtimeVersion?.split('\n')[0] ?? null, runtimePath: rt,
      kernel: os.release(), node: process.version, libseccomp: libseccompVersion(),
    },
    host: { os: osName(), arch: os.machine?.() ?? process.arch, cpus: os.availableParallelism?.() ?? os.cpus().length, memoryBytes: os.totalmem(), uid, gid, user, root },
    cgroups: cgroupInfo(root),
    userNamespaces: {
      kernel: existsSync('/proc/self/ns/user'),
      maxUserNamespaces: readNumber('/proc/sys/user/max_user_namespaces'),
      unprivilegedUsernsClone: readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
      apparmorRestrictUnprivileged: readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
      subuid: subordinateRanges('/etc/subuid', user, uid),
      subgid: subordinateRanges('/etc/subgid', user, uid),
      newuidmap: which('newuidmap', ['/usr/bin', '/usr/sbin']),
      newgidmap: which('newgidmap', ['/usr/bin', '/usr/sbin']),
    },
    timeNamespace: existsSync('/proc/self/ns/time'),
    overlay: { kernel: overlayKernel, inUserNamespace: overlayKernel && (kernelAtLeast(5, 11) || readNumber('/sys/module/overlay/parameters/permit_mounts_in_userns') === 1) },
    seccomp: {
      kernel: /^Seccomp:/m.test(status) && existsSync('/proc/sys/kernel/seccomp'),
      actions: (read('/proc/sys/kernel/seccomp/actions_avail') ?? '').trim().split(/\s+/).filter(Boolean),
      libseccomp: libseccompVersion(),
    },
    nftables: { nft: nft || null, version: nftVersion?.split('\n')[0] ?? null, usable: nftTables === undefined ? null : nftTables !== null },
    tun,
    icmp: (({ range, allowed }) => ({ range, allowed }))(icmpAvailability('pasta', [gid, ...(process.getgroups?.() ?? [])])),
    roots: {
      state: stateRoot,
      networks: netRoot ? path.join(netRoot, 'networks') : '/var/lib/nsbox/networks',
      leases: netRoot ? path.join(netRoot, 'run/leases') : '/run/nsbox/leases',
    },
    containers,
    networks,
    errors,
  };
  return { ...info, features: features(info) };
}
