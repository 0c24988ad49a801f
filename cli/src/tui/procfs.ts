/**
 * What the dashboard reads straight from /proc and /sys/fs/cgroup: namespace inodes, id maps, time
 * offsets, cgroup paths and usage, and the processes of a pid namespace. Read-only; a process that
 * vanishes or cannot be read is skipped, never an error.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { NAMESPACE_KINDS, type HostNamespace, type IdMapLine, type NamespaceKind, type ProcessInfo, type TimeOffsets } from './api.js';

export type NsIds = Partial<Record<NamespaceKind, number>>;
const PROC = '/proc';

const quiet = async <T>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);

export async function listPids(): Promise<number[]> {
  const names = await readdir(PROC);
  return names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
}

/** Inodes of /proc/PID/ns/*; kinds that cannot be read are left out. */
export async function nsIds(pid: number | 'self'): Promise<NsIds> {
  const out: NsIds = {};
  await Promise.all(NAMESPACE_KINDS.map(async (k) => {
    const link = await quiet(readlink(`${PROC}/${pid}/ns/${k}`));
    const m = link && /\[(\d+)\]$/.exec(link);
    if (m) out[k] = Number(m[1]);
  }));
  return out;
}

/** The host's namespaces: pid 1's, or this process's when pid 1 cannot be read (not root). */
export async function hostNsIds(): Promise<{ ids: NsIds; from: 'pid 1' | 'self' }> {
  const one = await nsIds(1);
  return Object.keys(one).length === NAMESPACE_KINDS.length ? { ids: one, from: 'pid 1' } : { ids: await nsIds('self'), from: 'self' };
}

export async function idMap(pid: number, which: 'uid' | 'gid'): Promise<IdMapLine[]> {
  const text = (await quiet(readFile(`${PROC}/${pid}/${which}_map`, 'utf8'))) ?? '';
  return text.split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter((f) => f.length === 3 && f.every(Number.isFinite))
    .map(([inside, outside, length]) => ({ inside: inside!, outside: outside!, length: length! }));
}

export async function timeOffsets(pid: number): Promise<TimeOffsets | undefined> {
  const text = await quiet(readFile(`${PROC}/${pid}/timens_offsets`, 'utf8'));
  if (!text) return undefined;
  const out: TimeOffsets = { monotonic: { secs: 0, nanos: 0 }, boottime: { secs: 0, nanos: 0 } };
  for (const line of text.split('\n')) {
    const [clock, secs, nanos] = line.trim().split(/\s+/);
    const key = clock === 'monotonic' || clock === '1' ? 'monotonic' : clock === 'boottime' || clock === '7' ? 'boottime' : undefined;
    if (key) out[key] = { secs: Number(secs), nanos: Number(nanos) };
  }
  return out;
}

/** /proc/PID/cgroup as controller list → path ('' is the unified v2 hierarchy). */
async function cgroups(pid: number): Promise<Map<string, string>> {
  const text = (await quiet(readFile(`${PROC}/${pid}/cgroup`, 'utf8'))) ?? '';
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

const exists = async (p: string): Promise<boolean> => (await quiet(readFile(p, 'utf8'))) !== undefined;

/** The unified (v2) cgroup directory of a process: under /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host. */
export async function cgroupPath(pid: number): Promise<string | undefined> {
  const rel = (await cgroups(pid)).get('');
  if (rel === undefined) return undefined;
  const base = (await exists('/sys/fs/cgroup/cgroup.controllers')) ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  return `${base}${rel === '/' ? '' : rel}`;
}

/**
 * CPU time used (µs) and memory in use (bytes) of a process's cgroup: cpu.stat and memory.current in v2,
 * falling back to the v1 cpuacct and memory controllers on a hybrid host.
 */
export async function cgroupUsage(pid: number): Promise<{ cpuUsec?: number; memoryBytes?: number }> {
  const cg = await cgroups(pid);
  const v2 = await cgroupPath(pid);
  const read = async (p: string | undefined): Promise<string | undefined> => (p ? quiet(readFile(p, 'utf8')) : undefined);
  const v1 = (ctrl: string, file: string): string | undefined => {
    for (const [ctrls, rel] of cg) if (ctrls.split(',').includes(ctrl)) return `/sys/fs/cgroup/${ctrls}${rel}/${file}`;
    return undefined;
  };
  const [stat, mem, acct, mem1] = await Promise.all([
    read(v2 && `${v2}/cpu.stat`), read(v2 && `${v2}/memory.current`), read(v1('cpuacct', 'cpuacct.usage')), read(v1('memory', 'memory.usage_in_bytes')),
  ]);
  const usec = stat && /^usage_usec (\d+)/m.exec(stat);
  const cpuUsec = usec ? Number(usec[1]) : acct ? Number(acct.trim()) / 1000 : undefined;
  const memoryBytes = mem ? Number(mem.trim()) : mem1 ? Number(mem1.trim()) : undefined;
  return { cpuUsec, memoryBytes };
}

export async function command(pid: number): Promise<string> {
  const cmd = await quiet(readFile(`${PROC}/${pid}/cmdline`, 'utf8'));
  if (cmd) return cmd.replace(/\0+$/, '').split('\0').join(' ');
  const comm = await quiet(readFile(`${PROC}/${pid}/comm`, 'utf8'));
  return comm ? `[${comm.trim()}]` : '?';
}

interface Status { nspid: number[]; ppid?: number; uid?: number }
async function status(pid: number): Promise<Status | undefined> {
  const text = await quiet(readFile(`${PROC}/${pid}/status`, 'utf8'));
  if (!text) return undefined;
  const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1];
  return {
    nspid: (field('NSpid') ?? String(pid)).split(/\s+/).map(Number),
    ppid: field('PPid') === undefined ? undefined : Number(field('PPid')),
    uid: field('Uid') === undefined ? undefined : Number(field('Uid')!.split(/\s+/)[0]),
  };
}

/** Every process in the pid namespace of `initPid`, with its pid there and on the host. */
export async function processesInPidNs(initPid: number): Promise<ProcessInfo[]> {
  const target = (await nsIds(initPid)).pid;
  if (target === undefined) return [];
  const out: ProcessInfo[] = [];
  await Promise.all((await listPids()).map(async (pid) => {
    const link = await quiet(readlink(`${PROC}/${pid}/ns/pid`));
    if (link !== `pid:[${target}]`) return;
    const [st, cmd] = await Promise.all([status(pid), command(pid)]);
    if (!st) return;
    out.push({ pidInside: st.nspid[st.nspid.length - 1] ?? pid, pidHost: pid, ppidHost: st.ppid,
      user: st.uid === undefined ? undefined : String(st.uid), command: cmd });
  }));
  return out.sort((a, b) => a.pidInside - b.pidInside);
}

/**
 * lsns from Node. The owning user namespace needs ioctl(NS_GET_USERNS), which Node cannot issue, so
 * `ownerUserNs` is the user namespace of the namespace's lowest pid: right unless a process entered a
 * namespace owned by another user namespace (setns across user namespaces), which nsbox never does.
 */
export async function scanNamespaces(containers: Array<{ name: string; pid: number }>): Promise<HostNamespace[]> {
  const host = (await hostNsIds()).ids;
  const byKey = new Map<string, HostNamespace>();
  const pids = await listPids();
  const perPid = await Promise.all(pids.map(async (pid) => ({ pid, ids: await nsIds(pid) })));
  const cmds = new Map<number, Promise<string>>();
  for (const { pid, ids } of perPid) {
    for (const kind of NAMESPACE_KINDS) {
      const id = ids[kind];
      if (id === undefined) continue;
      const key = `${kind}:${id}`;
      let n = byKey.get(key);
      if (!n) {
        n = { kind, id, nprocs: 0, ownerUserNs: ids.user, pid, command: '', processes: [], containers: [], isHost: host[kind] === id };
        byKey.set(key, n);
      }
      n.nprocs++;
      n.processes.push({ pid, command: '' });
    }
  }
  for (const c of containers) {
    const ids = perPid.find((p) => p.pid === c.pid)?.ids ?? {};
    for (const kind of NAMESPACE_KINDS) byKey.get(`${kind}:${ids[kind]}`)?.containers.push(c.name);
  }
  const all = [...byKey.values()];
  for (const { pid } of perPid) if (!cmds.has(pid)) cmds.set(pid, command(pid));
  const resolved = new Map(await Promise.all([...cmds].map(async ([pid, p]) => [pid, await p] as const)));
  for (const n of all) {
    n.command = resolved.get(n.pid) ?? '?';
    for (const p of n.processes) p.command = resolved.get(p.pid) ?? '';
  }
  return all.sort((a, b) => a.kind.localeCompare(b.kind) || a.id - b.id);
}
