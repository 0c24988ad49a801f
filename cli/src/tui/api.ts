import type { HostInfo, LearnStep } from 'nsbox';

export type { HostInfo, LearnStep };

/**
 * The interface the dashboard is built on. Every method maps onto the public `nsbox` TS API
 * (see real-api.ts for which call backs which method); fake-api.ts implements it in memory for tests.
 */

export const NAMESPACE_KINDS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const;
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number];

export type ContainerStatus = 'created' | 'running' | 'paused' | 'exited' | 'dead' | 'unknown';

export interface ContainerSummary {
  id: string;
  name: string;
  status: ContainerStatus;
  /** Exit code when status is 'exited'. */
  exitCode?: number;
  /** The OOM killer killed a process of it (docker's OOMKilled). */
  oomKilled?: boolean;
  /** Host pid of the container's init, 0 when not running. */
  pid: number;
  /** First endpoint's address (without prefix), if any. */
  ip?: string;
  /** ISO 8601; undefined when never started. */
  startedAt?: string;
  cpuPercent?: number;
  memoryBytes?: number;
  /** Processes in its cgroup. */
  pids?: number;
}

/** One reading of a container's usage for the Stats tab (the library's stats, docker's meanings). */
export interface StatsPoint {
  /** ms since the epoch */
  time: number;
  /** 100 = one CPU; undefined on a first reading. */
  cpuPercent?: number;
  /** In use without inactive page cache (docker's figure), and the limit (the host's memory without one). */
  memoryBytes: number;
  memoryLimit: number;
  pids: number;
  pidsLimit?: number;
  /** Totals since the container started, in bytes. */
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
}

export interface NamespaceInfo {
  kind: NamespaceKind;
  /** Inode inside the container; undefined when it could not be read. */
  id?: number;
  /** The same kind's inode in the host's (pid 1's) namespaces. */
  hostId?: number;
  /** true when the container uses the host's namespace of this kind. */
  shared: boolean;
}

export interface IdMapLine { inside: number; outside: number; length: number }

export interface TimeOffsets { monotonic: { secs: number; nanos: number }; boottime: { secs: number; nanos: number } }

export interface Endpoint {
  network: string;
  bridge: string;
  gateway: string;
  hostVeth: string;
  hostIfindex?: number;
  containerIf: string;
  /** CIDR, e.g. 10.88.0.2/16 */
  address: string;
  mac: string;
}

export interface ProcessInfo {
  /** Pid as seen inside the container's pid namespace (NSpid last field). */
  pidInside: number;
  pidHost: number;
  ppidHost?: number;
  user?: string;
  command: string;
}

export interface ContainerDetail {
  summary: ContainerSummary;
  namespaces: NamespaceInfo[];
  uidMap: IdMapLine[];
  gidMap: IdMapLine[];
  timeOffsets?: TimeOffsets;
  cgroupPath?: string;
  hostname?: string;
  endpoints: Endpoint[];
  /** A rootless container's user-mode network helper (pasta, slirp4netns), when it has one. */
  networkHelper?: HelperInfo;
  processes: ProcessInfo[];
  /** What `nsbox inspect` prints for this container. */
  raw: unknown;
}

/** A rootless container's network: its tap device ⇄ the helper ⇄ the host (the library's NetworkHelperDetail). */
export interface HelperInfo {
  helper: string;
  pid: number;
  running: boolean;
  /** How the helper ended ("killed by SIGKILL"), once it has. */
  exit?: string;
  /** The container's interfaces as read from its netns (lo left out by the drawing). */
  interfaces?: Array<{ name: string; index: number; mac: string | null; mtu: number | null; addresses: string[] }>;
  gateway?: string | null;
  dns?: string;
  ports?: Array<{ hostIp: string | null; hostPort: number; containerPort: number; protocol: string }>;
  hostLoopback?: boolean;
  icmp?: { allowed: boolean; reason?: string };
  /** Why the container's side could not be read. */
  insideError?: string;
  /** A rootless user-defined network (then `helper` is its holder): its name, the container's address, its bridge. */
  network?: string;
  address?: string;
  bridge?: string;
}

export interface LogLine { stream: 'stdout' | 'stderr'; time: string; line: string }

export interface NetworkSummary {
  name: string;
  subnet: string;
  gateway: string;
  bridge: string;
  internal?: boolean;
  /** A rootless user's network: its bridge lives in the user's rootless network namespace. */
  rootless?: boolean;
  endpoints: Array<Endpoint & { containerId: string; containerName: string }>;
}

export interface ImageSummary {
  /** Config digest (docker's IMAGE ID). */
  id: string;
  /** Manifest digest. */
  digest: string;
  /** Normalized references (`docker.io/library/alpine:latest`); one row each. */
  names: string[];
  created?: string;
  /** Bytes of the layer blobs. */
  size: number;
}

/** A pull's progress summed over its layers (the Images view's progress line). */
export interface PullProgress {
  /** Normalized reference, once the manifest is known. */
  reference?: string;
  layers: number;
  /** Layers complete or already stored. */
  done: number;
  /** Bytes downloaded / to download, over every layer. */
  current: number;
  total: number;
}

export interface HostNamespace {
  kind: NamespaceKind;
  id: number;
  nprocs: number;
  /** Owning user namespace (heuristic, see real-api.ts). */
  ownerUserNs?: number;
  /** The lowest pid in it and its command, like lsns. */
  pid: number;
  command: string;
  /** Every process in it, lowest pid first. */
  processes: Array<{ pid: number; command: string }>;
  /** Names of nsbox containers whose init is in this namespace. */
  containers: string[];
  /** true for the namespaces of pid 1. */
  isHost: boolean;
}

export interface NewContainerForm {
  name?: string;
  /** undefined: the host view (host root read-only, fresh /proc, /dev, /tmp). */
  rootfs?: string;
  /** An image in the store: its layers as an overlay root; `command` may then be empty (the image's Cmd). */
  image?: string;
  command: string[];
  hostname?: string;
  /** a network name, 'none' or 'host' */
  network?: string;
  /** undefined: the runtime's defaults */
  namespaces?: NamespaceKind[];
}

export interface DashboardEvent {
  type: 'create' | 'start' | 'oom' | 'kill' | 'pause' | 'unpause' | 'exit' | 'remove' | 'network';
  id?: string;
  name?: string;
  time: string;
}

export interface Capabilities {
  root: boolean;
  /** Human sentences: what is unavailable and why. Empty when everything works. */
  reasons: string[];
}

export interface DashboardApi {
  capabilities(): Promise<Capabilities>;
  listContainers(): Promise<ContainerSummary[]>;
  inspectContainer(id: string): Promise<ContainerDetail>;
  logs(id: string, opts: { follow: boolean; signal?: AbortSignal }): AsyncIterable<LogLine>;
  processes(id: string): Promise<ProcessInfo[]>;
  /** Its usage now (the Stats tab polls it and keeps the history). */
  containerStats(id: string): Promise<StatsPoint>;
  listNetworks(): Promise<NetworkSummary[]>;
  hostNamespaces(): Promise<HostNamespace[]>;
  /** The image store (the Images view); removing by name untags, the last name removes the image. */
  listImages(): Promise<ImageSummary[]>;
  removeImage(name: string, opts?: { force?: boolean }): Promise<void>;
  /** Pulls into the store (`nsbox pull`); resolves with the normalized reference and docker's digest. */
  pullImage(reference: string, opts: { onProgress: (p: PullProgress) => void; signal?: AbortSignal }): Promise<{ reference: string; digest: string }>;
  /** What `nsbox info` reports: versions, kernel features, roots, counts, remedies (the Host view). */
  hostInfo(): Promise<HostInfo>;
  createContainer(form: NewContainerForm): Promise<ContainerSummary>;
  stop(id: string): Promise<void>;
  kill(id: string, signal?: string): Promise<void>;
  /** Freezes every process of the container (docker's pause) / thaws it. */
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  remove(id: string, opts?: { force?: boolean }): Promise<void>;
  /** Runs an interactive shell in the container on the real terminal; resolves with its exit code. */
  execShell(id: string): Promise<number>;
  events(signal?: AbortSignal): AsyncIterable<DashboardEvent>;
  /** Learn mode's steps, S1–S15 (the library's learnSteps()); the same objects on every call. */
  learnSteps(): LearnStep[];
  /** Releases what the API holds (the dashboard calls it when it quits). */
  close?(): Promise<void>;
}

/** A feature the public API does not offer yet; the dashboard shows `message` instead of crashing. */
export class NotAvailableError extends Error {
  override readonly name = 'NotAvailableError';
  readonly code = 'ENOTAVAILABLE';
  constructor(readonly feature: string, readonly needs: string) {
    super(`${feature}: not available yet: needs ${needs}`);
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}
