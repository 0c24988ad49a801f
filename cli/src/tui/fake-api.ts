/**
 * An in-memory, deterministic DashboardApi for component tests and the render measurement.
 * Nothing here touches the host.
 */
import {
  NAMESPACE_KINDS,
  type Capabilities, type ContainerDetail, type ContainerSummary, type DashboardApi, type DashboardEvent,
  type Endpoint, type HostInfo, type HostNamespace, type ImageSummary, type PullProgress, type LogLine, type NamespaceInfo, type NetworkSummary, type NewContainerForm,
  type ProcessInfo, type StatsPoint,
} from './api.js';
import { FakeLearn } from './fake-learn.js';

export interface FakeOptions {
  containers?: number;
  capabilities?: Capabilities;
  /** Base time for startedAt and log timestamps (default 2026-01-01T00:00:00Z). */
  now?: number;
}

interface FakeContainer {
  summary: ContainerSummary;
  hostname: string;
  namespaces: NamespaceInfo[];
  endpoints: Endpoint[];
  /** Set by tests for a rootless container on pasta/slirp4netns. */
  networkHelper?: ContainerDetail['networkHelper'];
  processes: ProcessInfo[];
  logs: LogLine[];
  rootfs?: string;
  image?: string;
  command: string[];
}

const HOST_NS: Record<string, number> = Object.fromEntries(NAMESPACE_KINDS.map((k, i) => [k, 4026531834 + i]));

export class FakeApi implements DashboardApi {
  readonly containers = new Map<string, FakeContainer>();
  readonly networks: Array<Omit<NetworkSummary, 'endpoints'>> = [
    { name: 'nsbox', subnet: '10.88.0.0/16', gateway: '10.88.0.1', bridge: 'nsbox0' },
    { name: 'blue', subnet: '10.201.0.0/24', gateway: '10.201.0.1', bridge: 'nsbox-blue' },
  ];
  readonly images: ImageSummary[] = [
    { id: `sha256:${'a1'.repeat(32)}`, digest: `sha256:${'b2'.repeat(32)}`, names: ['docker.io/library/busybox:latest', 'localhost/box:1'], created: '2025-12-01T00:00:00Z', size: 2_150_000 },
    { id: `sha256:${'c3'.repeat(32)}`, digest: `sha256:${'d4'.repeat(32)}`, names: ['docker.io/library/alpine:3.20'], created: '2025-11-01T00:00:00Z', size: 3_620_000 },
  ];
  /** Learn mode's fake steps (fake-learn.ts). */
  readonly learn = new FakeLearn();
  /** Every mutating call, in order, for assertions. */
  readonly calls: string[] = [];
  /** The next call of this method rejects with this error. */
  readonly failures = new Map<string, Error>();
  private seq = 0;
  private readonly now: number;
  private readonly caps: Capabilities;
  private readonly logWaiters = new Set<() => void>();
  private readonly eventQueue: DashboardEvent[] = [];

  constructor(opts: FakeOptions = {}) {
    this.now = opts.now ?? Date.UTC(2026, 0, 1);
    this.caps = opts.capabilities ?? { root: true, reasons: [] };
    for (let i = 0; i < (opts.containers ?? 3); i++) {
      this.add({ name: `box-${String(i + 1).padStart(3, '0')}`, command: ['sleep', 'infinity'],
        network: i % 5 === 4 ? 'blue' : 'nsbox', rootfs: '/srv/busybox' });
    }
  }

  private hex(n: number): string {
    let s = '';
    let x = (n * 2654435761) >>> 0;
    while (s.length < 64) { x = (Math.imul(x ^ (x >>> 15), 2246822519) + 0x9e3779b9) >>> 0; s += x.toString(16).padStart(8, '0'); }
    return s.slice(0, 64);
  }

  private add(form: NewContainerForm): FakeContainer {
    const n = ++this.seq;
    const id = this.hex(n);
    const net = this.networks.find((x) => x.name === (form.network ?? 'nsbox'));
    const endpoints: Endpoint[] = net ? [{
      network: net.name, bridge: net.bridge, gateway: net.gateway, hostVeth: `veth${id.slice(0, 7)}`,
      hostIfindex: 100 + n, containerIf: 'eth0', address: `${net.gateway.replace(/\.1$/, '')}.${n + 1}/${net.subnet.split('/')[1]}`,
      mac: `02:42:0a:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`,
    }] : [];
    const kinds = form.namespaces ?? ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'];
    const namespaces = NAMESPACE_KINDS.map((kind, i) => {
      const shared = !kinds.includes(kind) || (kind === 'net' && form.network === 'host');
      return { kind, hostId: HOST_NS[kind], id: shared ? HOST_NS[kind] : 4026532000 + n * 8 + i, shared };
    });
    const pid = 10000 + n;
    const c: FakeContainer = {
      summary: {
        id, name: form.name ?? `box-${String(n).padStart(3, '0')}`, status: 'running', pid,
        ip: endpoints[0]?.address.split('/')[0], startedAt: new Date(this.now - n * 61_000).toISOString(),
        cpuPercent: (n * 7) % 100 / 10, memoryBytes: (n % 64 + 1) * 1024 * 1024, pids: 2,
      },
      hostname: form.hostname ?? id.slice(0, 12), namespaces, endpoints, rootfs: form.rootfs, image: form.image, command: form.command,
      processes: [
        { pidInside: 1, pidHost: pid, ppidHost: 1, user: '0', command: form.command.join(' ') },
        { pidInside: 7, pidHost: pid + 1, ppidHost: pid, user: '0', command: 'sh -c worker' },
      ],
      logs: Array.from({ length: 30 }, (_, i) => ({
        stream: i % 7 === 6 ? 'stderr' as const : 'stdout' as const,
        time: new Date(this.now + i * 1000).toISOString(), line: `line ${i + 1} from ${form.name ?? 'box'}`,
      })),
    };
    this.containers.set(id, c);
    return c;
  }

  private async guard(method: string, ...args: string[]): Promise<void> {
    if (args.length) this.calls.push(`${method} ${args.join(' ')}`);
    const f = this.failures.get(method);
    if (f) { this.failures.delete(method); throw f; }
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.summary.name === id);
    if (!c) throw Object.assign(new Error(`no such container: ${id}`), { code: 'ENOCONTAINER' });
    return c;
  }

  private emit(type: DashboardEvent['type'], c: FakeContainer): void {
    this.eventQueue.push({ type, id: c.summary.id, name: c.summary.name, time: new Date(this.now).toISOString() });
  }

  /** Changes every running container's CPU figure, like a second passing. */
  tick(): void {
    for (const c of this.containers.values()) {
      if (c.summary.status === 'running') c.summary = { ...c.summary, cpuPercent: ((c.summary.cpuPercent ?? 0) + 3.3) % 100 };
    }
  }

  appendLog(id: string, line: string, stream: LogLine['stream'] = 'stdout'): void {
    this.get(id).logs.push({ stream, time: new Date(this.now).toISOString(), line });
    for (const w of [...this.logWaiters]) w();
  }

  async capabilities(): Promise<Capabilities> { await this.guard('capabilities'); return this.caps; }

  async listContainers(): Promise<ContainerSummary[]> {
    await this.guard('listContainers');
    return [...this.containers.values()].map((c) => c.summary);
  }

  async inspectContainer(id: string): Promise<ContainerDetail> {
    await this.guard('inspectContainer');
    const c = this.get(id);
    const map = [{ inside: 0, outside: 100000, length: 65536 }];
    return {
      summary: c.summary, namespaces: c.namespaces, uidMap: map, gidMap: map, hostname: c.hostname,
      timeOffsets: { monotonic: { secs: 0, nanos: 0 }, boottime: { secs: 31536000, nanos: 0 } },
      cgroupPath: `/sys/fs/cgroup/nsbox/${c.summary.id}`, endpoints: c.endpoints, processes: c.processes,
      ...(c.networkHelper ? { networkHelper: c.networkHelper } : {}),
      raw: { Id: c.summary.id, Name: c.summary.name, State: { Status: c.summary.status, Pid: c.summary.pid },
        Config: { Cmd: c.command, Rootfs: c.rootfs ?? null, Hostname: c.hostname }, Endpoints: c.endpoints },
    };
  }

  async *logs(id: string, opts: { follow: boolean; signal?: AbortSignal }): AsyncIterable<LogLine> {
    await this.guard('logs');
    const c = this.get(id);
    let i = 0;
    for (;;) {
      while (i < c.logs.length) yield c.logs[i++]!;
      if (!opts.follow || opts.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const done = (): void => { this.logWaiters.delete(done); opts.signal?.removeEventListener('abort', done); resolve(); };
        this.logWaiters.add(done);
        opts.signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Readings of containerStats so far: each one a second later, its byte counters growing. */
  private statsReads = 0;

  async containerStats(id: string): Promise<StatsPoint> {
    await this.guard('containerStats');
    const c = this.get(id).summary;
    const k = ++this.statsReads;
    if (c.status !== 'running') return { time: this.now + k * 1000, memoryBytes: 0, memoryLimit: 0, pids: 0, netRx: 0, netTx: 0, blockRead: 0, blockWrite: 0 };
    return {
      time: this.now + k * 1000, cpuPercent: ((c.cpuPercent ?? 0) + k * 10) % 100, memoryBytes: c.memoryBytes ?? 0, memoryLimit: 64 * 1024 * 1024,
      pids: c.pids ?? 0, pidsLimit: 100, netRx: k * 1500, netTx: k * 600, blockRead: k * 4096, blockWrite: k * 8192,
    };
  }

  async processes(id: string): Promise<ProcessInfo[]> { await this.guard('processes'); return this.get(id).processes; }

  async listImages(): Promise<ImageSummary[]> {
    await this.guard('listImages');
    return this.images.map((i) => ({ ...i, names: [...i.names] }));
  }

  async removeImage(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.guard('removeImage');
    this.calls.push(`removeImage ${name}${opts.force ? ' force' : ''}`);
    const i = this.images.findIndex((x) => x.names.includes(name));
    if (i < 0) throw Object.assign(new Error(`no such image ${JSON.stringify(name)}`), { code: 'ERR_IMAGE_NOT_FOUND' });
    const img = this.images[i]!;
    img.names = img.names.filter((n) => n !== name);
    if (img.names.length === 0) this.images.splice(i, 1);
  }

  /** Two layers in three steps; names the image `REF` (normalized like docker's short names). */
  async pullImage(reference: string, opts: { onProgress: (p: PullProgress) => void }): Promise<{ reference: string; digest: string }> {
    await this.guard('pullImage');
    this.calls.push(`pullImage ${reference}`);
    const ref = reference.includes('/') ? reference : `docker.io/library/${reference}`;
    const name = /:[^/]*$/.test(ref) ? ref : `${ref}:latest`;
    for (const [done, current] of [[0, 0], [1, 1_000_000], [2, 2_000_000]] as const) opts.onProgress({ reference: name, layers: 2, done, current, total: 2_000_000 });
    const digest = `sha256:${'e5'.repeat(32)}`;
    this.images.push({ id: `sha256:${'e6'.repeat(32)}`, digest, names: [name], created: new Date(this.now).toISOString(), size: 2_000_000 });
    return { reference: name, digest };
  }

  async listNetworks(): Promise<NetworkSummary[]> {
    await this.guard('listNetworks');
    const all = [...this.containers.values()];
    return this.networks.map((n) => ({
      ...n,
      endpoints: all.flatMap((c) => c.endpoints.filter((e) => e.network === n.name)
        .map((e) => ({ ...e, containerId: c.summary.id, containerName: c.summary.name }))),
    }));
  }

  async hostNamespaces(): Promise<HostNamespace[]> {
    await this.guard('hostNamespaces');
    const out: HostNamespace[] = NAMESPACE_KINDS.map((kind) => ({
      kind, id: HOST_NS[kind]!, nprocs: 120, ownerUserNs: HOST_NS.user, pid: 1, command: 'init',
      processes: [{ pid: 1, command: 'init' }, { pid: 2, command: 'kthreadd' }], containers: [], isHost: true,
    }));
    for (const c of this.containers.values()) {
      if (c.summary.status !== 'running') continue;
      for (const ns of c.namespaces.filter((x) => !x.shared)) {
        out.push({ kind: ns.kind, id: ns.id!, nprocs: c.processes.length, ownerUserNs: HOST_NS.user,
          pid: c.summary.pid, command: c.command.join(' '), processes: c.processes.map((p) => ({ pid: p.pidHost, command: p.command })),
          containers: [c.summary.name], isHost: false });
      }
    }
    return out;
  }

  /** What hostInfo() returns: a cgroup v2 host without nft (so the view has a warning to show). */
  info: HostInfo = {
    versions: { nsbox: '0.1.0', core: '0.1.0', runtime: 'nsbox-runtime version 0.1.0', runtimePath: '/opt/nsbox/nsbox-runtime', kernel: '6.1.0-test', node: 'v20.0.0', libseccomp: '2.5.4' },
    host: { os: 'Debian GNU/Linux 12 (bookworm)', arch: 'x86_64', cpus: 2, memoryBytes: 4 * 2 ** 30, uid: 0, gid: 0, user: 'root', root: true },
    cgroups: { layout: 'v2', v2Mount: '/sys/fs/cgroup', v1Mounts: {}, v2Controllers: ['cpu', 'memory', 'pids'], v1Controllers: [], own: '/user.slice', writable: true },
    userNamespaces: { kernel: true, maxUserNamespaces: 15000, unprivilegedUsernsClone: 1, apparmorRestrictUnprivileged: null, subuid: [{ start: 100000, count: 65536 }], subgid: [{ start: 100000, count: 65536 }], newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap' },
    timeNamespace: true,
    overlay: { kernel: true, inUserNamespace: true },
    seccomp: { kernel: true, actions: ['kill_process', 'errno', 'user_notif', 'allow'], libseccomp: '2.5.4' },
    nftables: { nft: null, version: null, usable: null },
    tun: { path: '/dev/net/tun', present: true, mode: 'crw-rw-rw-', usable: true },
    icmp: { range: '0 2147483647', allowed: true },
    roots: { state: '/run/nsbox', networks: '/var/lib/nsbox/networks', leases: '/run/nsbox/leases' },
    containers: null,
    networks: null,
    errors: [],
    features: [
      { name: 'user namespaces', ok: true, detail: 'user.max_user_namespaces = 15000' },
      { name: 'nftables', ok: false, detail: 'nft not found', remedy: 'published ports (-p) are written with nft: `sudo apt-get install nftables`' },
    ],
  };

  async hostInfo(): Promise<HostInfo> {
    await this.guard('hostInfo');
    const list = [...this.containers.values()].map((c) => c.summary.status);
    const running = list.filter((s) => s === 'running').length;
    const paused = list.filter((s) => s === 'paused').length;
    return { ...this.info, containers: { total: list.length, running, paused, stopped: list.length - running - paused }, networks: this.networks.length };
  }

  async createContainer(form: NewContainerForm): Promise<ContainerSummary> {
    await this.guard('createContainer', form.name ?? '', form.command.join(' '));
    if (form.name && [...this.containers.values()].some((c) => c.summary.name === form.name)) {
      throw Object.assign(new Error(`name already in use: ${form.name}`), { code: 'ENAMEINUSE' });
    }
    const c = this.add(form);
    this.emit('create', c);
    return c.summary;
  }

  async stop(id: string): Promise<void> {
    await this.guard('stop', id);
    const c = this.get(id);
    c.summary = { ...c.summary, status: 'exited', exitCode: 143, pid: 0, cpuPercent: undefined, memoryBytes: undefined, pids: undefined };
    this.emit('exit', c);
  }

  async pause(id: string): Promise<void> { await this.setPaused(id, true); }
  async unpause(id: string): Promise<void> { await this.setPaused(id, false); }

  private async setPaused(id: string, paused: boolean): Promise<void> {
    await this.guard(paused ? 'pause' : 'unpause', id);
    const c = this.get(id);
    if (c.summary.status !== (paused ? 'running' : 'paused')) {
      throw Object.assign(new Error(`container ${c.summary.name} is ${c.summary.status}`), { code: paused ? 'ENOTRUNNING' : 'ENOTPAUSED' });
    }
    c.summary = { ...c.summary, status: paused ? 'paused' : 'running' };
  }

  async kill(id: string, signal = 'SIGKILL'): Promise<void> {
    await this.guard('kill', id, signal);
    const c = this.get(id);
    if (c.summary.status !== 'running') throw Object.assign(new Error(`container ${c.summary.name} is not running`), { code: 'ENOTRUNNING' });
    c.summary = { ...c.summary, status: 'exited', exitCode: 137, pid: 0, cpuPercent: undefined, memoryBytes: undefined, pids: undefined };
    this.emit('exit', c);
  }

  async remove(id: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.guard('remove', id, opts.force ? 'force' : '');
    const c = this.get(id);
    if (c.summary.status === 'running' && !opts.force) {
      throw Object.assign(new Error(`container ${c.summary.name} is running: stop it first or force`), { code: 'ERUNNING' });
    }
    this.containers.delete(c.summary.id);
    this.emit('remove', c);
  }

  learnSteps() { return this.learn.steps; }
  async execShell(id: string): Promise<number> { await this.guard('execShell', id); this.get(id); return 0; }

  async *events(signal?: AbortSignal): AsyncIterable<DashboardEvent> {
    while (!signal?.aborted) {
      const e = this.eventQueue.shift();
      if (e) yield e;
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
}
