/**
 * Reading the state root that `nsbox-runtime` writes (one directory per container with an
 * atomically replaced state.json). Any process may read it; only monitors and `delete` write it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { ContainerNotFoundError, lifecycleError } from './errors.js';
import { holderAlive } from '../network/rootless/bridge.js';

/** The network layer keeps its state (leases, endpoints, per-container /etc files) in the same root. */
const NOT_CONTAINERS = new Set(['names', 'leases', 'endpoints', 'containers', 'networks', 'run']);
const isContainerDir = (name: string): boolean => !NOT_CONTAINERS.has(name) && !name.startsWith('.');

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'exited' | 'dead';

export interface NamespaceState {
  kind: string;
  /** Inode number, as in `readlink /proc/PID/ns/KIND`. */
  id: number;
  /** True when the container shares this namespace with the host. */
  shared: boolean;
}

export interface IdMapState { inside: number; outside: number; length: number }

export interface MountState { destination: string; kind: string; source: string; readonly: boolean }

/** One network attachment, as recorded by networking (endpoints.json in the container's directory). */
export interface EndpointState {
  network: string;
  bridge?: string;
  hostVeth?: string;
  hostIfindex?: number;
  address?: string;
  mac?: string;
  gateway?: string;
  [k: string]: unknown;
}

/** state.json, plus the honest `status` computed when it was read. */
export interface ContainerState {
  id: string;
  name: string;
  /** What is true now: a container whose process or monitor died without recording an exit is `dead`. */
  status: ContainerStatus;
  /** What the monitor last wrote. */
  recordedStatus: string;
  /** 'oci': made by the runtime's own `create` without our monitor (an engine's container, reaped by the engine). */
  mode?: string;
  pid: number | null;
  pidStartTime: number | null;
  monitorPid: number | null;
  monitorStartTime: number | null;
  exitCode: number | null;
  exitSignal: string | null;
  /** The OOM killer killed a process of the container (docker's OOMKilled). */
  oomKilled: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  bundle: string;
  rootfs: string;
  command: string[];
  tty: boolean;
  /** `-i`: stdin is kept open by the monitor for attach. */
  stdinOpen: boolean;
  autoRemove: boolean;
  namespaces: NamespaceState[];
  cgroups: string[];
  uidMap: IdMapState[];
  gidMap: IdMapState[];
  timeOffsets: { boottime: number; monotonic: number };
  mounts: MountState[];
  logPath: string;
  logMaxSize: number;
  logDropped: number;
  logError: string | null;
  errors: string[];
  /** Endpoint ids the monitor released when the container ended (remove() detaches only the others). */
  releasedEndpoints: string[];
  endpoints: EndpointState[];
  /** The image the container runs (from its config's nsbox annotations), or null for a rootfs or the host's view. */
  image: ImageState | null;
  /** A rootless container's user-mode network helper (pasta, slirp4netns), as its keeper last recorded it. */
  networkHelper: NetworkHelperState | null;
}

export interface ImageState {
  /** As the user gave it (`busybox`, a digest, an id prefix). */
  reference: string;
  /** The manifest's digest. */
  digest: string;
  /** The config's digest (docker's image id). */
  id: string;
  stopSignal: string | null;
}

/** `run/helpers/ID/status.json`, written by the keeper (crates/nsbox-net/src/rootless/keeper.rs). */
export interface NetworkHelperState {
  /** pasta or slirp4netns; `holder of NET` for a rootless user-defined network (rootless/bridge-hook.ts). */
  helper: 'pasta' | 'slirp4netns' | `holder of ${string}`;
  pid: number;
  keeperPid: number;
  /** false once the helper died before the container: the container has lost its network. */
  running: boolean;
  /** How the helper ended, e.g. "killed by SIGKILL". */
  exit?: string;
  /** The container's first process, whose namespaces the helper serves. */
  containerPid?: number;
  /** The published ports the helper listens for (-p). */
  ports?: Array<{ hostIp: string | null; hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' }>;
  /** Whether the host's loopback is reachable from the container (hostLoopback, pasta:--map-gw). */
  hostLoopback?: boolean;
  /** A rootless user-defined network: its name, the container's address, and the holder's identity. */
  network?: string;
  address?: string;
  bridge?: string;
  /** A rootless user-defined network: the name server its containers get (the holder's helper's). */
  dns?: string;
  /** A rootless user-defined network whose holder lives but whose egress helper died: how it ended. */
  egressLost?: string;
  holderPid?: number;
  holderStart?: number;
}

/** `--root`/`NSBOX_ROOT`, else /run/nsbox as root and $XDG_RUNTIME_DIR/nsbox otherwise (as the runtime decides). */
export function defaultRoot(): string {
  if (process.env.NSBOX_ROOT) return path.resolve(process.env.NSBOX_ROOT);
  if (process.getuid?.() === 0) return '/run/nsbox';
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? path.join(xdg, 'nsbox') : path.join('/tmp', `nsbox-${process.getuid?.() ?? 0}`);
}

/** starttime (field 22 of /proc/PID/stat), or null when the process is gone or a zombie. */
export function processStartTime(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  return Number(fields[19]);
}

function alive(pid: number | null, start: number | null): boolean {
  return pid !== null && start !== null && processStartTime(pid) === start;
}

function liveStatus(s: ContainerState): ContainerStatus {
  if (s.mode === 'oci') {
    // No monitor of ours records its exit: its process lives (pid and start time) or it is over,
    // with an exit status only its engine knows.
    const live = alive(s.pid, s.pidStartTime) && ['created', 'running', 'paused'].includes(s.recordedStatus);
    if (!live) return 'dead';
    return s.recordedStatus === 'created' ? 'created' : paused(s) || s.recordedStatus === 'paused' ? 'paused' : 'running';
  }
  const monitor = alive(s.monitorPid, s.monitorStartTime);
  switch (s.recordedStatus) {
    case 'running':
    case 'created':
      // A live monitor is the process's parent: it reaps it and records the exit (until then the
      // pid, a zombie at most, cannot be reused).
      if (!monitor) return 'dead';
      return paused(s) ? 'paused' : (s.recordedStatus as ContainerStatus);
    case 'paused':
      return monitor ? 'paused' : 'dead';
    case 'creating':
      return monitor ? 'creating' : 'dead';
    case 'exited':
      return 'exited';
    default:
      return 'dead';
  }
}

function paused(s: ContainerState): boolean {
  const freezer = s.cgroups.find((c) => c.includes('/freezer/'));
  try {
    if (freezer) return readFileSync(path.join(freezer, 'freezer.state'), 'utf8').trim() === 'FROZEN';
  } catch {
    /* no freezer: not paused */
  }
  return false;
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * A file most containers lack (endpoints, a rootless network helper's status): `undefined` when it is
 * missing or unreadable. Checked with existsSync first: a thrown ENOENT per container and file was a
 * measurable part of listing 200 containers.
 */
function readOptionalJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return readJson(file);
  } catch {
    return undefined;
  }
}

/** Reads one container's state by its full id; throws ContainerNotFoundError when it has none. */
export function readState(root: string, id: string): ContainerState {
  const first = readStateOnce(root, id);
  if (first.status !== 'dead' || !['running', 'created', 'creating', 'paused'].includes(first.recordedStatus)) return first;
  // The monitor records the exit and only then exits: it may have done both between our read of
  // state.json and our look at the monitor. Read again before calling the container dead.
  try {
    return readStateOnce(root, id);
  } catch (e) {
    if (e instanceof ContainerNotFoundError) return first; // --rm removed it meanwhile
    throw e;
  }
}

function readStateOnce(root: string, id: string): ContainerState {
  const dir = path.join(root, id);
  let raw: Record<string, unknown>;
  try {
    raw = readJson(path.join(dir, 'state.json')) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      try {
        readdirSync(dir);
      } catch {
        throw new ContainerNotFoundError(id);
      }
      // A directory without state: a creation cut short by a kill.
      return { ...blank(id), status: 'dead', recordedStatus: 'unknown' };
    }
    throw lifecycleError('ERR_STATE', 'read state', path.join(dir, 'state.json'), String((e as Error).message));
  }
  const s = { ...blank(id), ...raw, recordedStatus: String(raw.status ?? 'unknown') } as ContainerState;
  const ep = readOptionalJson(path.join(dir, 'endpoints.json'));
  s.endpoints = Array.isArray(ep) ? (ep as EndpointState[]) : [];
  s.image = imageOf(dir, s.createdAt);
  s.networkHelper = (readOptionalJson(path.join(root, 'run', 'helpers', id, 'status.json')) as NetworkHelperState | undefined) ?? null;
  // A rootless user-defined network: up while the user's network holder lives (its namespaces,
  // bridges and the container's veth die with it).
  const h = s.networkHelper;
  if (h?.holderPid !== undefined && h.holderStart !== undefined && h.running) {
    if (!holderAlive({ holderPid: h.holderPid, holderStart: h.holderStart })) {
      s.networkHelper = { ...h, running: false, exit: 'gone' };
    } else {
      // The holder lives but its egress helper died: the network still joins its containers.
      const e = readOptionalJson(path.join(root, 'run', 'netns-helper', 'status.json')) as { helper?: string; running?: boolean; exit?: string } | undefined;
      if (e?.running === false) s.networkHelper = { ...h, egressLost: `${e.helper ?? 'helper'} ${e.exit ?? 'ended'}` };
    }
  }
  s.status = liveStatus(s);
  return s;
}

/**
 * config.json never changes after create, but it is large (the seccomp profile is in it): parsing it for
 * every container on every listing was most of what `stats` and the dashboard's refresh cost with 200
 * containers. Keyed by creation time too, since an id can come back.
 */
const imageCache = new Map<string, ImageState | null>();

function imageOf(dir: string, createdAt: string): ImageState | null {
  const key = `${dir}\0${createdAt}`;
  const known = imageCache.get(key);
  if (known !== undefined) return known;
  if (imageCache.size > 4096) imageCache.clear();
  const image = readImageOf(dir);
  if (createdAt) imageCache.set(key, image);
  return image;
}

function readImageOf(dir: string): ImageState | null {
  try {
    const a = ((readJson(path.join(dir, 'config.json')) as { annotations?: Record<string, string> }).annotations ?? {});
    const reference = a['org.nsbox.image'];
    if (!reference) return null;
    return { reference, digest: a['org.nsbox.image.digest'] ?? '', id: a['org.nsbox.image.id'] ?? '', stopSignal: a['org.nsbox.stop-signal'] ?? null };
  } catch {
    return null;
  }
}

function blank(id: string): ContainerState {
  return {
    id, name: '', status: 'dead', recordedStatus: 'unknown', pid: null, pidStartTime: null, monitorPid: null,
    monitorStartTime: null, exitCode: null, exitSignal: null, oomKilled: false, createdAt: '', startedAt: null, finishedAt: null,
    bundle: '', rootfs: '', command: [], tty: false, stdinOpen: false, autoRemove: false, namespaces: [], cgroups: [], uidMap: [],
    gidMap: [], timeOffsets: { boottime: 0, monotonic: 0 }, mounts: [], logPath: '', logMaxSize: 0, logDropped: 0,
    logError: null, errors: [], releasedEndpoints: [], endpoints: [], image: null, networkHelper: null,
  };
}

/** Every container under the root (states that vanish while listing are skipped). */
export function listStates(root: string): ContainerState[] {
  let names: string[];
  try {
    names = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && isContainerDir(d.name)).map((d) => d.name);
  } catch {
    return [];
  }
  const out: ContainerState[] = [];
  for (const id of names) {
    try {
      out.push(readState(root, id));
    } catch {
      /* removed meanwhile */
    }
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
}

/** Resolves an id, a name or a unique id prefix to a full id (docker's rules). */
export function resolveId(root: string, ref: string): string {
  if (!ref || ref.includes('/') || ref.startsWith('.')) throw new ContainerNotFoundError(ref);
  const ids = listIds(root);
  if (ids.includes(ref)) return ref;
  try {
    const id = readFileSync(path.join(root, 'names', ref), 'utf8').trim();
    if (ids.includes(id)) return id;
  } catch {
    /* not a name */
  }
  const matches = ids.filter((id) => id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw lifecycleError('ERR_AMBIGUOUS_ID', 'find container', null, `${JSON.stringify(ref)} matches ${matches.length} containers: give more of the id`);
  throw new ContainerNotFoundError(ref);
}

function listIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && isContainerDir(d.name)).map((d) => d.name);
  } catch {
    return [];
  }
}
