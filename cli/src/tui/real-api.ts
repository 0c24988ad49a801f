/**
 * DashboardApi over the `nsbox` package and /proc. Which call backs which method:
 *
 *   listContainers, createContainer, stop, kill, remove, logs, events, execShell, processes, Inspect JSON
 *       a ContainerBackend (backend.ts): LifecycleBackend over `Runtime` (list({all}), run(), get(ref)
 *       .stop/kill/remove/logs/exec/top/inspect, events()) when the library has it; otherwise
 *       SessionRuntime over `spawn()` (containers that live as long as the dashboard, no exec).
 *   listContainers cpu %, memory, pids   the library's stats (readStats, as `nsbox stats`) through LifecycleBackend;
 *                      the container's cgroup from /proc (v2 cpu.stat, memory.current; v1 fallbacks) for SessionRuntime
 *   containerStats     LifecycleBackend.stats: the library's readStats of one container (the Stats tab)
 *   inspectContainer   namespaces (vs pid 1's, or ours when pid 1 is unreadable), uid/gid maps, time
 *                      offsets, cgroup path from /proc/<pid>, falling back to the runtime's state;
 *                      endpoints from the state, else from the networking API
 *   listNetworks       listNetworks + inspectNetwork (issue 3)
 *   hostNamespaces     /proc/<pid>/ns/* of every process (no library call needed)
 *   hostInfo           hostInfo() (what `nsbox info` prints), for the same state root
 *   listImages, removeImage   listImages(), removeImage() (the image store, issue 12)
 *   pullImage                 pull() (registries, issue 12), its layer events summed into one line
 *   learnSteps                learnSteps() (learn mode, issue 15), each run() tracked so close() ends its sessions
 *
 * The library is read through feature detection, so this file builds against any stage of it, and a
 * method whose part is missing rejects with NotAvailableError naming what it waits for.
 */
import * as nsbox from 'nsbox';
import {
  NAMESPACE_KINDS, NotAvailableError,
  type Capabilities, type ContainerDetail, type ContainerSummary, type DashboardApi, type DashboardEvent, type LogLine,
  type HostInfo, type ImageSummary, type PullProgress, type NetworkSummary, type NewContainerForm, type ProcessInfo, type StatsPoint,
} from './api.js';
import { cgroupPath, cgroupUsage, hostNsIds, idMap, nsIds, processesInPidNs, scanNamespaces, timeOffsets } from './procfs.js';
import type { LearnStep, Runtime } from 'nsbox';
import type { ContainerBackend } from './backend.js';
import { LearnSessions } from './learn-sessions.js';
import { LifecycleBackend } from './lifecycle-backend.js';
import { SessionRuntime, type SpawnFn } from './session-runtime.js';

/** The parts of the library this adapter can use, each optional until it exists. */
interface Library {
  Runtime?: new (o?: { root?: string }) => Runtime;
  spawn?: SpawnFn;
  listNetworks?: () => Promise<LibNetwork[]>;
  inspectNetwork?: (name: string) => Promise<LibNetwork & { endpoints: LibEndpoint[] }>;
  hostInfo?: (o?: { root?: string }) => Promise<HostInfo>;
  listImages?: () => Promise<Array<{ id: string; digest: string; names: string[]; created: string | null; size: number }>>;
  removeImage?: (ref: string, o?: { force?: boolean }) => Promise<unknown>;
  learnSteps?: () => LearnStep[];
  pull?: (ref: string, o: { onProgress: (e: PullEvent) => void; signal?: AbortSignal }) => Promise<{ reference: string; digest: string }>;
}
type PullEvent =
  | { kind: 'resolved'; reference: string; layers: Array<{ digest: string; size: number }> }
  | { kind: 'layer'; digest: string; state: string; current: number; total: number };
interface LibNetwork { name: string; bridge: string; subnet: string; gateway: string; internal?: boolean; rootless?: boolean }
interface LibEndpoint {
  container: string | null; hostname?: string | null; ip: string; mac: string; hostVeth: string; ownerPid: number;
  hostLink?: { index: number } | null; containerIfname?: string; alive?: boolean;
}
type NetEndpoint = NetworkSummary['endpoints'][number] & { ownerPid: number };

const NEEDS_LIFECYCLE = 'the lifecycle API (Runtime.list and friends, issue 4)';

export class RealApi implements DashboardApi {
  private readonly backend?: ContainerBackend;
  private readonly lib: Library;
  private readonly learn = new LearnSessions();
  private steps?: LearnStep[];
  private readonly cpu = new Map<string, { usec: number; at: number }>();
  private readonly root?: string;

  constructor(lib: Library = nsbox as unknown as Library, opts: { root?: string; backend?: ContainerBackend } = {}) {
    this.lib = lib;
    this.root = opts.root;
    this.backend = opts.backend
      ?? (typeof lib.Runtime === 'function' ? new LifecycleBackend(new lib.Runtime(opts.root === undefined ? {} : { root: opts.root })) : undefined)
      ?? (typeof lib.spawn === 'function' ? new SessionRuntime(lib.spawn) : undefined);
  }

  private get rt(): ContainerBackend {
    if (!this.backend) throw new NotAvailableError('containers', NEEDS_LIFECYCLE);
    return this.backend;
  }

  async capabilities(): Promise<Capabilities> {
    const root = process.getuid?.() === 0;
    const reasons: string[] = [];
    if (!root) reasons.push('not root: containers get a user namespace (you are root only inside); networks, cgroup limits and other users\' namespaces are unavailable');
    if (!this.backend) reasons.push(`containers: needs ${NEEDS_LIFECYCLE}`);
    else if (!this.backend.detached) reasons.push('containers started here end when the dashboard quits (detached containers need the lifecycle API)');
    if (typeof this.lib.inspectNetwork !== 'function') reasons.push('networks: needs the networking API (issue 3)');
    if ((await hostNsIds()).from === 'self') reasons.push('pid 1 unreadable: "host" namespaces are this process\'s');
    return { root, reasons };
  }

  async listContainers(): Promise<ContainerSummary[]> {
    const list = await this.rt.list();
    const now = Date.now();
    const eps = list.some((c) => c.pid) ? await this.allEndpoints() : [];
    return Promise.all(list.map(async (c) => {
      if (c.status !== 'running' || !c.pid) return c;
      const ip = eps.find((e) => e.ownerPid === c.pid)?.address.split('/')[0] ?? c.ip;
      // The lifecycle backend filled usage in from the library's stats (the same as `nsbox stats`).
      if (this.backend?.stats || !(await this.ownCgroup(c.pid))) return { ...c, ip };
      const u = await cgroupUsage(c.pid);
      const prev = this.cpu.get(c.id);
      if (u.cpuUsec !== undefined) this.cpu.set(c.id, { usec: u.cpuUsec, at: now });
      const cpuPercent = prev && u.cpuUsec !== undefined && now > prev.at ? ((u.cpuUsec - prev.usec) / 1000 / (now - prev.at)) * 100 : undefined;
      return { ...c, ip, cpuPercent, memoryBytes: u.memoryBytes };
    }));
  }

  /**
   * true when the container has a cgroup of its own: not ours or one of our ancestors (a rootless
   * container without cgroup delegation stays in the dashboard's, whose usage is not its).
   */
  private async ownCgroup(pid: number): Promise<boolean> {
    const [theirs, mine] = await Promise.all([cgroupPath(pid), cgroupPath(process.pid)]);
    return theirs !== undefined && mine !== undefined && theirs !== mine && !mine.startsWith(`${theirs}/`);
  }

  async inspectContainer(id: string): Promise<ContainerDetail> {
    const summary = await this.rt.get(id);
    const pid = summary.pid;
    const base: ContainerDetail = { summary, namespaces: [], uidMap: [], gidMap: [], endpoints: [], processes: [], raw: await this.rt.inspect(id) };
    if (!pid) return base;
    const [inside, host, uidMap, gidMap, offsets, cgroup, processes, eps, own] = await Promise.all([
      nsIds(pid), hostNsIds(), idMap(pid, 'uid'), idMap(pid, 'gid'), timeOffsets(pid), cgroupPath(pid), this.processes(id),
      this.endpointsOf(pid), this.rt.details?.(id).catch(() => undefined),
    ]);
    const namespaces = NAMESPACE_KINDS.map((kind) => ({
      kind, id: inside[kind], hostId: host.ids[kind], shared: inside[kind] !== undefined && inside[kind] === host.ids[kind],
    }));
    const endpoints = own?.endpoints?.length ? own.endpoints : eps.map(({ network, bridge, gateway, hostVeth, hostIfindex, containerIf, address, mac }) =>
      ({ network, bridge, gateway, hostVeth, hostIfindex, containerIf, address, mac }));
    // /proc is what is true now; the state (when there is one) is what the runtime set up and is the raw JSON.
    return {
      ...base, namespaces, uidMap: uidMap.length ? uidMap : own?.uidMap ?? [], gidMap: gidMap.length ? gidMap : own?.gidMap ?? [],
      timeOffsets: offsets ?? own?.timeOffsets, cgroupPath: cgroup ?? own?.cgroupPath, processes, endpoints,
      ...(own?.networkHelper ? { networkHelper: own.networkHelper } : {}),
      raw: this.backend instanceof SessionRuntime
        ? { ...(base.raw as object), Namespaces: namespaces, UidMap: uidMap, GidMap: gidMap, TimeOffsets: offsets ?? null, CgroupPath: cgroup ?? null, Endpoints: endpoints }
        : base.raw,
    };
  }

  async *logs(id: string, opts: { follow: boolean; signal?: AbortSignal }): AsyncIterable<LogLine> {
    yield* this.rt.logs(id, opts.follow, opts.signal);
  }

  async processes(id: string): Promise<ProcessInfo[]> {
    if (this.rt.processes) return this.rt.processes(id);
    const { pid } = await this.rt.get(id);
    return pid ? processesInPidNs(pid) : [];
  }

  async containerStats(id: string): Promise<StatsPoint> {
    if (!this.rt.stats) throw new NotAvailableError('stats', 'the lifecycle API (Runtime.stats, issue 11)');
    return this.rt.stats(id);
  }

  async hostInfo(): Promise<HostInfo> {
    if (typeof this.lib.hostInfo !== 'function') throw new NotAvailableError('host', 'hostInfo() in the library');
    return this.lib.hostInfo(this.root === undefined ? {} : { root: this.root });
  }

  async listImages(): Promise<ImageSummary[]> {
    if (typeof this.lib.listImages !== 'function') throw new NotAvailableError('images', 'the image store API (listImages; issue 12)');
    return (await this.lib.listImages()).map((i) => ({ id: i.id, digest: i.digest, names: i.names, size: i.size, ...(i.created ? { created: i.created } : {}) }));
  }

  async removeImage(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (typeof this.lib.removeImage !== 'function') throw new NotAvailableError('remove image', 'the image store API (removeImage; issue 12)');
    await this.lib.removeImage(name, opts);
  }

  async pullImage(reference: string, opts: { onProgress: (p: PullProgress) => void; signal?: AbortSignal }): Promise<{ reference: string; digest: string }> {
    if (typeof this.lib.pull !== 'function') throw new NotAvailableError('pull', 'the registry API (pull; issue 12)');
    // Sums the per-layer events into one line's worth: layers done, bytes so far of all.
    const layers = new Map<string, { size: number; current: number; done: boolean }>();
    let ref: string | undefined;
    const report = () => {
      const all = [...layers.values()];
      opts.onProgress({
        ...(ref ? { reference: ref } : {}), layers: all.length, done: all.filter((l) => l.done).length,
        current: all.reduce((n, l) => n + l.current, 0), total: all.reduce((n, l) => n + l.size, 0),
      });
    };
    const onProgress = (e: PullEvent) => {
      if (e.kind === 'resolved') {
        ref = e.reference;
        for (const l of e.layers) layers.set(l.digest, { size: l.size, current: 0, done: false });
      } else {
        const l = layers.get(e.digest);
        if (!l) return;
        if (e.state === 'downloading') l.current = e.current;
        if (e.state === 'exists' || e.state === 'complete') Object.assign(l, { current: l.size, done: true });
      }
      report();
    };
    const r = await this.lib.pull(reference, { onProgress, ...(opts.signal ? { signal: opts.signal } : {}) });
    return { reference: r.reference, digest: r.digest };
  }

  async listNetworks(): Promise<NetworkSummary[]> {
    const { listNetworks, inspectNetwork } = this.lib;
    if (typeof listNetworks !== 'function' || typeof inspectNetwork !== 'function') {
      throw new NotAvailableError('networks', 'the networking API (listNetworks, inspectNetwork; issue 3)');
    }
    const nets = await listNetworks();
    return Promise.all(nets.map(async (n) => {
      const d = await inspectNetwork(n.name);
      const prefix = n.subnet.split('/')[1] ?? '';
      const endpoints: NetEndpoint[] = d.endpoints.filter((e) => e.alive !== false).map((e) => ({
        network: n.name, bridge: n.bridge, gateway: n.gateway, hostVeth: e.hostVeth, hostIfindex: e.hostLink?.index,
        containerIf: e.containerIfname ?? 'eth0', address: `${e.ip}/${prefix}`, mac: e.mac, ownerPid: e.ownerPid,
        containerId: e.container ?? `pid ${e.ownerPid}`, containerName: e.container ?? e.hostname ?? `pid ${e.ownerPid}`,
      }));
      return { name: n.name, subnet: n.subnet, gateway: n.gateway, bridge: n.bridge, internal: n.internal, rootless: n.rootless, endpoints };
    }));
  }

  /** Every live endpoint of every network; none when the networking API is missing or fails. */
  private async allEndpoints(): Promise<NetEndpoint[]> {
    if (typeof this.lib.inspectNetwork !== 'function') return [];
    const nets = await this.listNetworks().catch(() => []);
    return nets.flatMap((n) => n.endpoints as NetEndpoint[]);
  }

  /** The endpoints whose owner is `pid` (the container's init). */
  private async endpointsOf(pid: number): Promise<NetEndpoint[]> {
    return (await this.allEndpoints()).filter((e) => e.ownerPid === pid);
  }

  async hostNamespaces() {
    const running = this.backend ? (await this.backend.list().catch(() => [])).filter((c) => c.status === 'running' && c.pid) : [];
    return scanNamespaces(running.map((c) => ({ name: c.name, pid: c.pid })));
  }

  async createContainer(form: NewContainerForm): Promise<ContainerSummary> { return this.rt.create(form); }
  async stop(id: string): Promise<void> { return this.rt.stop(id); }
  async kill(id: string, signal = 'SIGKILL'): Promise<void> { return this.rt.kill(id, signal); }
  async pause(id: string): Promise<void> { return this.rt.pause(id); }
  async unpause(id: string): Promise<void> { return this.rt.unpause(id); }
  async remove(id: string, opts: { force?: boolean } = {}): Promise<void> { return this.rt.remove(id, opts.force === true); }
  async execShell(id: string): Promise<number> { return this.rt.exec(id); }

  async *events(signal?: AbortSignal): AsyncIterable<DashboardEvent> { yield* this.rt.events(signal); }

  learnSteps(): LearnStep[] {
    if (typeof this.lib.learnSteps !== 'function') throw new NotAvailableError('learn', 'learnSteps() in the library (issue 15)');
    this.steps ??= this.learn.wrap(this.lib.learnSteps());
    return this.steps;
  }

  /** Ends the learn sessions (their containers) and the backend, each even when the other fails. */
  async close(): Promise<void> {
    const [learn, backend] = await Promise.allSettled([this.learn.closeAll(), this.backend?.close()]);
    if (learn.status === 'rejected') throw learn.reason;
    if (backend.status === 'rejected') throw backend.reason;
  }
}
