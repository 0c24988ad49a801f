/** `nsbox info`'s report as lines, shared by the command and the TUI's Host view. */
import type { HostInfo } from 'nsbox';

const bytes = (n: number): string => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)}GiB` : `${(n / 2 ** 20).toFixed(0)}MiB`);
const ranges = (r: Array<{ start: number; count: number }>): string => (r.length ? r.map((x) => `${x.start}-${x.start + x.count - 1}`).join(', ') : 'none');

/** The report as lines, docker info's way: sections, one-space indented `Key: value`, warnings last. */
export function formatHostInfo(i: HostInfo): string[] {
  const cg = i.cgroups;
  const un = i.userNamespaces;
  const c = i.containers;
  const layout = { v2: 'v2 (unified)', v1: 'v1 (legacy)', hybrid: `hybrid (v1 controllers, cgroup2 at ${cg.v2Mount})`, none: 'none' }[cg.layout];
  const lines = [
    'Client:',
    ` Version: nsbox ${i.versions.nsbox}`,
    ` Core (addon): ${i.versions.core ?? 'not loadable'}`,
    ` Runtime: ${i.versions.runtime ?? 'not runnable'} (${i.versions.runtimePath})`,
    ` Node: ${i.versions.node}`,
    'Host:',
    ` Operating System: ${i.host.os ?? 'unknown'}`,
    ` Kernel Version: ${i.versions.kernel}`,
    ` Architecture: ${i.host.arch}`,
    ` CPUs: ${i.host.cpus}`,
    ` Total Memory: ${bytes(i.host.memoryBytes)}`,
    ` User: ${i.host.user ?? '?'} (uid ${i.host.uid}, gid ${i.host.gid})${i.host.root ? '' : ': rootless, containers get a user namespace'}`,
    `Containers: ${c ? c.total : '?'}`,
    ...(c ? [` Running: ${c.running}`, ` Paused: ${c.paused}`, ` Stopped: ${c.stopped}`] : []),
    `Networks: ${i.networks ?? '?'}`,
    'Cgroups:',
    ` Layout: ${layout}`,
    ...(cg.v1Controllers.length ? [` v1 Controllers: ${cg.v1Controllers.join(' ')}`] : []),
    ...(cg.v2Mount ? [` v2 Controllers: ${cg.v2Controllers.join(' ') || 'none'}`] : []),
    ` Own Cgroup: ${cg.own ?? '?'}${cg.writable ? '' : ' (not writable)'}`,
    'User Namespaces:',
    ` Kernel: ${un.kernel ? 'yes' : 'no'}`,
    ` user.max_user_namespaces: ${un.maxUserNamespaces ?? 'n/a'}`,
    ...(un.unprivilegedUsernsClone === null ? [] : [` kernel.unprivileged_userns_clone: ${un.unprivilegedUsernsClone}`]),
    ...(un.apparmorRestrictUnprivileged === null ? [] : [` kernel.apparmor_restrict_unprivileged_userns: ${un.apparmorRestrictUnprivileged}`]),
    ` subuid: ${ranges(un.subuid)}`,
    ` subgid: ${ranges(un.subgid)}`,
    ` newuidmap: ${un.newuidmap ?? 'missing'}`,
    ` newgidmap: ${un.newgidmap ?? 'missing'}`,
    `Time Namespace: ${i.timeNamespace ? 'yes' : 'no'}`,
    `Overlayfs: ${i.overlay.kernel ? `yes (in user namespaces: ${i.overlay.inUserNamespace ? 'yes' : 'no'})` : 'no'}`,
    'Security:',
    ` seccomp: ${i.seccomp.kernel ? `yes (actions: ${i.seccomp.actions.join(' ')})` : 'no'}`,
    ` libseccomp: ${i.seccomp.libseccomp ?? 'not found'}`,
    `nftables: ${i.nftables.nft ? `${i.nftables.version ?? i.nftables.nft}${i.nftables.usable === false ? ' (not usable)' : ''}` : 'missing'}`,
    `/dev/net/tun: ${i.tun.present ? `${i.tun.mode}${i.tun.usable ? '' : ' (not openable by you)'}` : 'missing'}`,
    `ICMP ping groups: ${i.icmp.range ?? 'unreadable'}${i.host.root ? '' : ` (${i.icmp.allowed ? 'includes' : 'excludes'} yours: a rootless container's ping ${i.icmp.allowed ? 'works' : 'gets no answer'})`}`,
    'Storage:',
    ` State Root: ${i.roots.state}`,
    ` Networks: ${i.roots.networks}`,
    ` Leases: ${i.roots.leases}`,
  ];
  for (const e of i.errors) lines.push(`ERROR: ${e}`);
  for (const f of i.features) if (!f.ok) lines.push(warning(f));
  return lines;
}

/** `WARNING: name: what was found. What it costs and the remedy.` */
export function warning(f: HostInfo['features'][number]): string {
  const remedy = f.remedy ? ` ${f.remedy[0]!.toUpperCase()}${f.remedy.slice(1)}` : '';
  return `WARNING: ${f.name}: ${f.detail}.${remedy}`;
}
