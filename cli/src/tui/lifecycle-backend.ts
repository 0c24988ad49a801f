/**
 * ContainerBackend over the lifecycle API (`Runtime` from `nsbox`): detached containers under a state
 * root, shared with `nsbox ps/logs/exec/stop/rm` and any other process.
 */
import { readStats, StatsFiles, statsSample, type ContainerState, type Runtime, type RuntimeContainer, type StatsRead, type StatsSample } from 'nsbox';
import type { ContainerDetail, ContainerStatus, HelperInfo, ContainerSummary, DashboardEvent, LogLine, NewContainerForm, ProcessInfo, StatsPoint } from './api.js';
import { NAMESPACE_KINDS } from './api.js';
import type { ContainerBackend } from './backend.js';

const STATUS: Record<string, ContainerStatus> = { creating: 'created', created: 'created', running: 'running', paused: 'paused', exited: 'exited', dead: 'dead' };

export function summaryOf(s: ContainerState): ContainerSummary {
  const running = s.status === 'running' || s.status === 'paused';
  return {
    id: s.id, name: s.name, status: STATUS[s.status] ?? 'unknown', pid: running ? s.pid ?? 0 : 0,
    ...(s.exitCode === null ? {} : { exitCode: s.exitCode }),
    ...(s.oomKilled ? { oomKilled: true } : {}),
    ...(s.startedAt ? { startedAt: s.startedAt } : {}),
    ...(s.endpoints[0]?.address ? { ip: s.endpoints[0].address.split('/')[0] } : {}),
  };
}

/** What the state itself says about namespaces, maps, offsets, cgroup and endpoints (host ids come from /proc). */
export function detailOf(s: ContainerState): Partial<ContainerDetail> {
  const kinds = new Set<string>(NAMESPACE_KINDS);
  return {
    namespaces: s.namespaces.filter((n) => kinds.has(n.kind)).map((n) => ({ kind: n.kind as ContainerDetail['namespaces'][number]['kind'], id: n.id, shared: n.shared })),
    uidMap: s.uidMap, gidMap: s.gidMap,
    timeOffsets: { monotonic: { secs: s.timeOffsets.monotonic, nanos: 0 }, boottime: { secs: s.timeOffsets.boottime, nanos: 0 } },
    cgroupPath: s.cgroups.find((c) => c.includes('/unified')) ?? s.cgroups.find((c) => !/\/(cpu|memory|pids|blkio|devices|freezer|cpuset|cpuacct|systemd)[,/]/.test(c)) ?? s.cgroups[0],
    ...(s.networkHelper ? { networkHelper: helperInfo(s.networkHelper) } : {}),
    endpoints: s.endpoints.map((e) => ({
      network: e.network, bridge: e.bridge ?? '?', gateway: e.gateway ?? '?', hostVeth: e.hostVeth ?? '?',
      ...(e.hostIfindex === undefined ? {} : { hostIfindex: e.hostIfindex }), containerIf: 'eth0', address: e.address ?? '?', mac: e.mac ?? '?',
    })),
  };
}

function helperInfo(h: NonNullable<ContainerState['networkHelper']>): HelperInfo {
  return {
    helper: h.helper, pid: h.pid, running: h.running, ...(h.exit ? { exit: h.exit } : {}),
    ...(h.ports ? { ports: h.ports } : {}), ...(h.hostLoopback === undefined ? {} : { hostLoopback: h.hostLoopback }),
    ...(h.network ? { network: h.network, address: h.address, bridge: h.bridge } : {}),
  };
}

/** The Stats tab's reading of a library sample. */
export function pointOf(x: StatsSample): StatsPoint {
  return {
    time: Date.parse(x.time), ...(x.cpuPercent === null ? {} : { cpuPercent: x.cpuPercent }),
    memoryBytes: x.memory.usage, memoryLimit: x.memory.limit, pids: x.pids.current, ...(x.pids.limit === null ? {} : { pidsLimit: x.pids.limit }),
    netRx: x.network.rx, netTx: x.network.tx, blockRead: x.blockIO.read, blockWrite: x.blockIO.write,
  };
}

const MIN_SPAN_MS = 500;
interface Rate { read: StatsRead; cpu: number | null }

/** The sample of a new read against the previous one, or with the previous CPU % when that is too recent. */
function rated(r: StatsRead, prev: Rate | undefined): { x: StatsSample; rate: Rate } {
  if (prev && r.at - prev.read.at < MIN_SPAN_MS) return { x: { ...statsSample(r), cpuPercent: prev.cpu }, rate: prev };
  const x = statsSample(r, prev?.read);
  return { x, rate: { read: r, cpu: x.cpuPercent } };
}

export class LifecycleBackend implements ContainerBackend {
  readonly detached = true;
  /** Containers this dashboard started: their handles hold the network teardowns for remove(). */
  private readonly started = new Map<string, RuntimeContainer>();
  constructor(private readonly rt: Runtime) {}

  private handle(ref: string): RuntimeContainer {
    const c = this.rt.get(ref);
    return this.started.get(c.id) ?? c;
  }

  /**
   * The previous read of each container by the list (refreshed by the containers view and the
   * namespace explorer alike) and by the Stats tab, with the CPU % it gave: a read closer than
   * MIN_SPAN_MS to the previous one keeps that CPU %, since a rate over a few ms is noise.
   */
  private listReads = new Map<string, Rate>();
  private readonly tabReads = new Map<string, Rate>();
  /** The stats files stay open between refreshes (one pread each per second), closed with the dashboard. */
  private readonly files = new StatsFiles();

  /**
   * Only real containers (the state root also holds other directories, e.g. networking's leases),
   * with CPU %, memory and pids from the library's stats (what `nsbox stats` shows).
   */
  async list(): Promise<ContainerSummary[]> {
    const reads = new Map<string, Rate>();
    const out = this.rt.list({ all: true }).filter((s) => /^[0-9a-f]{64}$/.test(s.id)).map((s) => {
      const c = summaryOf(s);
      // Without cgroups of its own (rootless on v1) nothing it uses can be told apart.
      if ((s.status !== 'running' && s.status !== 'paused') || !s.cgroups.length) return c;
      const { x, rate } = rated(readStats(s, this.files.read), this.listReads.get(s.id));
      reads.set(s.id, rate);
      return { ...c, ...(x.cpuPercent === null ? {} : { cpuPercent: x.cpuPercent }), memoryBytes: x.memory.usage, pids: x.pids.current };
    });
    this.listReads = reads;
    this.files.sweep();
    return out;
  }

  async stats(ref: string): Promise<StatsPoint> {
    const s = this.rt.get(ref).inspect();
    if ((s.status === 'running' || s.status === 'paused') && !s.cgroups.length) {
      throw new Error(`${s.name} has no cgroups of its own (rootless on a cgroup v1 host): its CPU, memory, pids and block I/O cannot be told apart`);
    }
    const { x, rate } = rated(readStats(s, this.files.read), this.tabReads.get(s.id));
    this.tabReads.clear();
    this.tabReads.set(s.id, rate);
    return pointOf(x);
  }
  async get(ref: string): Promise<ContainerSummary> { return summaryOf(this.rt.get(ref).inspect()); }
  async inspect(ref: string): Promise<unknown> {
    const c = this.rt.get(ref);
    return { ...c.inspect(), security: c.security() };
  }
  async details(ref: string): Promise<Partial<ContainerDetail>> {
    const c = this.rt.get(ref);
    const d = detailOf(c.inspect());
    // A rootless container's helper, with its tap device read from inside the container's netns.
    const h = d.networkHelper ? await c.networkHelper().catch(() => null) : null;
    return h ? { ...d, networkHelper: h } : d;
  }

  async processes(ref: string): Promise<ProcessInfo[]> {
    return this.rt.get(ref).top().map((p) => ({ pidInside: p.nsPid ?? 0, pidHost: p.pid, ppidHost: p.ppid, user: String(p.uid), command: p.command }));
  }

  async create(form: NewContainerForm): Promise<ContainerSummary> {
    const c = await this.rt.run({
      command: form.command,
      ...(form.name ? { name: form.name } : {}), ...(form.rootfs ? { rootfs: form.rootfs } : {}), ...(form.image ? { image: form.image } : {}),
      ...(form.hostname ? { hostname: form.hostname } : {}), ...(form.network ? { network: form.network } : {}),
      ...(form.namespaces ? { namespaces: form.namespaces } : {}),
    });
    this.started.set(c.id, c);
    return summaryOf(c.inspect());
  }

  async *logs(ref: string, follow: boolean, signal?: AbortSignal): AsyncIterable<LogLine> {
    for await (const e of this.rt.get(ref).logs({ follow, ...(signal ? { signal } : {}) })) {
      yield { stream: e.stream, time: e.time, line: e.log.replace(/\r?\n$/, '') };
    }
  }

  async stop(ref: string): Promise<void> { await this.rt.get(ref).stop(); }
  async kill(ref: string, signal: string): Promise<void> { await this.rt.get(ref).kill(signal); }
  async pause(ref: string): Promise<void> { await this.rt.get(ref).pause(); }
  async unpause(ref: string): Promise<void> { await this.rt.get(ref).unpause(); }

  async remove(ref: string, force: boolean): Promise<void> {
    const c = this.handle(ref);
    await c.remove({ force });
    this.started.delete(c.id);
  }

  /** `nsbox exec -it REF sh` from here: the runtime gets our terminal; we relay signals meant for it. */
  async exec(ref: string): Promise<number> {
    const p = this.rt.get(ref).exec(['/bin/sh'], { tty: true, stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' });
    const relay = (sig: NodeJS.Signals) => (): void => { p.kill(sig); };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, relay(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    try { return (await p.wait()).exitCode; } finally { for (const [s, h] of handlers) process.off(s, h); }
  }

  async *events(signal?: AbortSignal): AsyncIterable<DashboardEvent> {
    for await (const e of this.rt.events(signal ? { signal } : {})) yield { type: e.type, id: e.id, name: e.name, time: e.time };
  }

  /** Detached containers outlive the dashboard: nothing to stop, only the stats files to close. */
  async close(): Promise<void> { this.files.close(); }
}
