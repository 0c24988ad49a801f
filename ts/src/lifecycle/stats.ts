/**
 * Live usage of containers (docker's `stats`), read straight from their cgroups and network
 * namespace: CPU time, memory, pids, block I/O and network bytes. Only reads: every cgroup write
 * lives in nsbox-cgroups. The same files for v1 hierarchies (per controller), a pure v2 host and a
 * hybrid one: each number comes from whichever of the container's cgroups has its controller.
 *
 * Cheap by design (200 containers in about 20 ms of CPU, 8 ms for a stream's later samples; see
 * docs/resources.md, tests/resources/stats.test.ts and `npm run bench`): stats-files.ts.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ContainerState } from './state.js';
import { OpenFiles, readSmall, type ReadFile } from './stats-files.js';

/** One read of a container's counters; the percentages need two reads (see StatsSample). */
export interface StatsRead {
  id: string;
  name: string;
  /** RFC 3339, UTC. */
  time: string;
  /** Monotonic clock (ms, performance.now()) of the read: the wall time CPU % is measured over. */
  at: number;
  /** Still running (or paused) when read; a stopped container reads all zeros, as in docker. */
  running: boolean;
  /**
   * False when the running container has no cgroups of its own (rootless on a v1 host): its CPU,
   * memory, pids and block I/O cannot be told apart from its neighbours' and read as zeros.
   */
  cgroups: boolean;
  /** CPU time of every process in the container (ns), and the host's online CPUs. */
  cpu: { totalNs: number; onlineCpus: number };
  memory: {
    /**
     * Bytes in use without the page cache the kernel can drop at once: the cgroup's usage minus
     * inactive_file (v1 total_inactive_file), what docker's CLI shows.
     */
    usage: number;
    /** The cgroup's own usage (memory.usage_in_bytes / memory.current), cache included. */
    raw: number;
    /** The limit; without one, the host's memory (docker shows MemTotal there). */
    limit: number;
    /** True when the cgroup has a limit of its own (not the host's memory). */
    limited: boolean;
  };
  pids: { current: number; /** null: no limit. */ limit: number | null };
  /** Bytes the container's cgroup read from and wrote to block devices (v1 blkio, v2 io.stat). */
  blockIO: { read: number; write: number };
  /** Bytes its network namespace received and sent (all interfaces but lo; 0 with the host's network). */
  network: { rx: number; tx: number };
}

/** A read with the rates docker prints, over the wall time since the previous read. */
export interface StatsSample extends StatsRead {
  /** 100 = one CPU busy for the whole interval (docker's meaning); null on a first read. */
  cpuPercent: number | null;
  memoryPercent: number;
}

export interface StatsOptions {
  /** ms between samples (default 1000, docker's). */
  interval?: number;
  signal?: AbortSignal;
}

const num = (t: string | undefined): number | undefined => {
  if (t === undefined) return undefined;
  const s = t.trim();
  return s === 'max' ? Infinity : s === '' ? undefined : Number(s);
};

/** `key value` lines (memory.stat, cpu.stat). */
function keyed(text: string | undefined, key: string): number | undefined {
  if (!text) return undefined;
  const needle = `${key} `;
  const at = text.startsWith(needle) ? 0 : text.indexOf(`\n${needle}`) + 1;
  if (at === 0 && !text.startsWith(needle)) return undefined;
  const end = text.indexOf('\n', at);
  return Number(text.slice(at + needle.length, end < 0 ? undefined : end));
}

let hostMemory: number | undefined;
function memTotal(): number {
  if (hostMemory === undefined) {
    const kb = /^MemTotal:\s+(\d+) kB/m.exec(readSmall('/proc/meminfo') ?? '');
    hostMemory = kb ? Number(kb[1]) * 1024 : 0;
  }
  return hostMemory;
}

/** The container's cgroup directory of each controller stats reads, and whether it is cgroup2's. */
interface Dirs { memory?: string; cpu?: string; pids?: string; io?: string; v2: Set<string> }

interface CgroupMount { point: string; v2: boolean; controllers: string[] }
let mounts: CgroupMount[] | undefined;

/** The cgroup mounts of this mount namespace, from /proc/self/mountinfo (read once, whole: it can be long). */
function cgroupMounts(): CgroupMount[] {
  if (mounts) return mounts;
  mounts = [];
  let info = '';
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    /* no /proc: every directory is told by its files */
  }
  for (const line of info.split('\n')) {
    const [left, right] = line.split(' - ');
    const [fstype, , opts] = (right ?? '').split(' ');
    const point = left?.split(' ')[4];
    if (!point || (fstype !== 'cgroup' && fstype !== 'cgroup2')) continue;
    mounts.push({ point, v2: fstype === 'cgroup2', controllers: fstype === 'cgroup' ? (opts ?? '').split(',') : [] });
  }
  mounts.sort((x, y) => y.point.length - x.point.length);
  return mounts;
}

const dirsCache = new Map<string, Dirs>();

/**
 * Which directory holds which controller: a v1 hierarchy's controllers are its mount options; a
 * cgroup2 directory has the controllers its cgroup.controllers lists. Cached per directory list.
 */
function dirsOf(cgroups: string[]): Dirs {
  const key = cgroups.join('\0');
  const hit = dirsCache.get(key);
  if (hit) return hit;
  const d: Dirs = { v2: new Set() };
  const put = (ctrl: 'memory' | 'cpu' | 'pids' | 'io', dir: string, v2: boolean) => {
    if (d[ctrl]) return;
    d[ctrl] = dir;
    if (v2) d.v2.add(ctrl);
  };
  for (const dir of cgroups) {
    const m = cgroupMounts().find((x) => dir === x.point || dir.startsWith(`${x.point}/`));
    // On no cgroup mount of ours (a path from another mount namespace): told by its files.
    const controllers = readSmall(`${dir}/cgroup.controllers`);
    if (m ? m.v2 : controllers !== undefined) {
      const ctrls = (controllers ?? '').trim().split(/\s+/);
      for (const c of ['memory', 'cpu', 'pids', 'io'] as const) if (ctrls.includes(c)) put(c, dir, true);
      continue;
    }
    const has = m ? (ctrl: string, _file: string) => m.controllers.includes(ctrl) : (_ctrl: string, file: string) => readSmall(`${dir}/${file}`) !== undefined;
    if (has('memory', 'memory.usage_in_bytes')) put('memory', dir, false);
    if (has('cpuacct', 'cpuacct.usage')) put('cpu', dir, false);
    if (has('pids', 'pids.current')) put('pids', dir, false);
    if (has('blkio', 'blkio.throttle.io_service_bytes')) put('io', dir, false);
  }
  if (dirsCache.size > 4096) dirsCache.clear();
  dirsCache.set(key, d);
  return d;
}

/** v1 blkio.throttle.io_service_bytes(_recursive) `MAJ:MIN Read N` lines, or v2 io.stat's rbytes=/wbytes=. */
function blockIO(read: ReadFile, dir: string | undefined, isV2: boolean): { read: number; write: number } {
  const out = { read: 0, write: 0 };
  if (!dir) return out;
  if (isV2) {
    const v2 = read(`${dir}/io.stat`) ?? '';
    for (const m of v2.matchAll(/\b([rw])bytes=(\d+)/g)) out[m[1] === 'r' ? 'read' : 'write'] += Number(m[2]);
    return out;
  }
  // _recursive counts the cgroups below too (a container makes none, but an engine may).
  const v1 = read(`${dir}/blkio.throttle.io_service_bytes_recursive`) ?? read(`${dir}/blkio.throttle.io_service_bytes`) ?? '';
  for (const m of v1.matchAll(/^\d+:\d+ (Read|Write) (\d+)$/gm)) out[m[1] === 'Read' ? 'read' : 'write'] += Number(m[2]);
  return out;
}

/** /proc/PID/net/dev of the container's first process: its namespace's interfaces, lo left out. */
function network(read: ReadFile, pid: number | null, hostNet: boolean): { rx: number; tx: number } {
  const out = { rx: 0, tx: 0 };
  if (!pid || hostNet) return out;
  const text = read(`/proc/${pid}/net/dev`);
  if (!text) return out;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    out.rx += Number(f[0]);
    out.tx += Number(f[8]);
  }
  return out;
}

const CPUS = availableParallelism();

/**
 * One read of one container's counters from its state (what `listStates`/`readState` return).
 * `read` is how files are read: at once by default, or an OpenFiles of a stream.
 */
export function readStats(s: ContainerState, read: ReadFile = readSmall): StatsRead {
  const running = s.status === 'running' || s.status === 'paused';
  const base: StatsRead = {
    id: s.id, name: s.name, time: new Date().toISOString(), at: performance.now(), running, cgroups: s.cgroups.length > 0,
    cpu: { totalNs: 0, onlineCpus: CPUS },
    memory: { usage: 0, raw: 0, limit: 0, limited: false },
    pids: { current: 0, limit: null }, blockIO: { read: 0, write: 0 }, network: { rx: 0, tx: 0 },
  };
  if (!running) return base;
  base.network = network(read, s.pid, s.namespaces.some((n) => n.kind === 'net' && n.shared));
  if (!s.cgroups.length) return base;
  const d = dirsOf(s.cgroups);
  if (d.cpu) {
    base.cpu.totalNs = d.v2.has('cpu') ? (keyed(read(`${d.cpu}/cpu.stat`), 'usage_usec') ?? 0) * 1000 : num(read(`${d.cpu}/cpuacct.usage`)) ?? 0;
  }
  if (d.memory) {
    const v2 = d.v2.has('memory');
    const raw = num(read(`${d.memory}/${v2 ? 'memory.current' : 'memory.usage_in_bytes'}`)) ?? 0;
    const inactive = keyed(read(`${d.memory}/memory.stat`), v2 ? 'inactive_file' : 'total_inactive_file') ?? 0;
    const lim = num(read(`${d.memory}/${v2 ? 'memory.max' : 'memory.limit_in_bytes'}`)) ?? Infinity;
    // v1 says "no limit" with a huge page-rounded number.
    const limited = Number.isFinite(lim) && lim < 2 ** 62;
    const host = memTotal();
    base.memory = { usage: inactive < raw ? raw - inactive : raw, raw, limit: limited && (!host || lim < host) ? lim : host, limited };
  }
  if (d.pids) {
    const lim = num(read(`${d.pids}/pids.max`));
    base.pids = { current: num(read(`${d.pids}/pids.current`)) ?? 0, limit: lim === undefined || !Number.isFinite(lim) ? null : lim };
  }
  base.blockIO = blockIO(read, d.io, d.v2.has('io'));
  return base;
}

/** The rates between two reads of the same container (`prev` undefined: a first read). */
export function sample(cur: StatsRead, prev?: StatsRead): StatsSample {
  const wallNs = prev ? (cur.at - prev.at) * 1e6 : 0;
  const cpuPercent = prev && wallNs > 0 && cur.running ? Math.max(0, ((cur.cpu.totalNs - prev.cpu.totalNs) / wallNs) * 100) : cur.running ? null : 0;
  const memoryPercent = cur.memory.limit > 0 ? (cur.memory.usage / cur.memory.limit) * 100 : 0;
  return { ...cur, cpuPercent, memoryPercent };
}

/**
 * Samples of a changing set of containers every `interval` ms: `states()` says which, each time.
 * The first batch comes one interval after the first read, so that CPU % has a span to measure.
 */
export async function* streamStats(states: () => ContainerState[], o: StatsOptions = {}): AsyncGenerator<StatsSample[]> {
  const interval = o.interval ?? 1000;
  // Its files stay open from one sample to the next (closed when the consumer stops iterating).
  const files = new OpenFiles();
  try {
    let prev = new Map<string, StatsRead>();
    for (const s of states()) prev.set(s.id, readStats(s, files.read));
    while (!o.signal?.aborted) {
      await sleep(interval, undefined, { signal: o.signal }).catch(() => {});
      if (o.signal?.aborted) return;
      const next = new Map<string, StatsRead>();
      const out: StatsSample[] = [];
      for (const s of states()) {
        const r = readStats(s, files.read);
        next.set(s.id, r);
        out.push(sample(r, prev.get(s.id)));
      }
      files.sweep();
      prev = next;
      yield out;
    }
  } finally {
    files.close();
  }
}
