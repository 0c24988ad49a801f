/**
 * Networks from TypeScript: thin typed wrappers over the addon's promises (the Rust core runs on the
 * libuv pool, and attach on nsbox-net's own worker thread; Node's threads never change namespace).
 * Errors arrive as the package's typed errors.
 */
import { fromNative, invalidSpec } from '../errors.js';
import { rootlessNet } from './rootless/bridge.js';
import { isRootless } from './rootless/state-dir.js';
import { loadAddon } from '../platform.js';
import type {
  AttachOptions, CreateNetworkOptions, DetachOptions, Endpoint, NetworkClientOptions, Network, NetworkDetail,
  NetworkSummary, PortSpec,
} from './types.js';

interface NetBinding {
  createNetwork(options: Record<string, unknown>): Promise<string>;
  listNetworks(root?: string | null): Promise<string>;
  inspectNetwork(name: string, root?: string | null): Promise<string>;
  removeNetwork(name: string, root?: string | null): Promise<string>;
  pruneNetworks(root?: string | null): Promise<string>;
  attachContainer(options: Record<string, unknown>): Promise<string>;
  detachContainer(options: Record<string, unknown>): Promise<string>;
  settleNetworkTeardown(): Promise<string>;
}

let binding: NetBinding | undefined;

function native(): NetBinding {
  binding ??= loadAddon<NetBinding>();
  return binding;
}

async function call<T>(f: (b: NetBinding) => Promise<string>): Promise<T> {
  try {
    return JSON.parse(await f(native())) as T;
  } catch (e) {
    throw fromNative(e);
  }
}

function strip(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** `{hostPort: 8080, containerPort: 80}` → `8080:80/tcp`; strings pass through (the core parses them). */
export function portSpec(p: PortSpec, field = 'ports'): string {
  if (typeof p === 'string') return p;
  if (typeof p !== 'object' || p === null) throw invalidSpec(field, 'must be "[HOSTIP:]HOSTPORT:CTRPORT[/proto]" or { hostPort, containerPort }');
  return `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}:${p.containerPort}/${p.protocol ?? 'tcp'}`;
}

/*
 * As a normal user, bridge networks live in the user's rootless network namespace (one holder
 * process per user, rootless/bridge.ts): the same operations, run by `nsbox-runtime rootless-net`
 * inside it. `root` is then the user's state root (default: $XDG_RUNTIME_DIR/nsbox).
 */

/** The default MTU of a rootless user's networks (the helpers' taps have it too). */
export const ROOTLESS_MTU = 65520;

/** Marks a rootless user's networks (the TUI and `network ls` say where they live). */
function rootlessMark<T extends object>(n: T): T & { rootless: true } {
  return { ...n, rootless: true };
}

export async function createNetwork(options: CreateNetworkOptions): Promise<Network> {
  if (isRootless()) {
    const { root, ...rest } = options;
    // Every link of a rootless network is virtual, the egress helper's tap included (65520, as
    // podman gives containers on pasta): large frames cost the helper far less per byte
    // (docs/networking.md, "Measured": downloads 0.5 → 5 Gbit/s).
    return rootlessMark(await rootlessNet<Network>('create', strip({ ...rest, mtu: rest.mtu ?? ROOTLESS_MTU }), root));
  }
  return call((b) => b.createNetwork(strip(options)));
}

export async function listNetworks(options: NetworkClientOptions = {}): Promise<NetworkSummary[]> {
  if (isRootless()) return (await rootlessNet<NetworkSummary[]>('ls', {}, options.root)).map(rootlessMark);
  return call((b) => b.listNetworks(options.root ?? null));
}

export async function inspectNetwork(name: string, options: NetworkClientOptions = {}): Promise<NetworkDetail> {
  if (isRootless()) return rootlessMark(await rootlessNet<NetworkDetail>('inspect', { name }, options.root));
  return call((b) => b.inspectNetwork(name, options.root ?? null));
}

/** Fails with EBUSY while a live container uses the network. */
export async function removeNetwork(name: string, options: NetworkClientOptions = {}): Promise<void> {
  if (isRootless()) {
    await rootlessNet<null>('rm', { name }, options.root);
    return;
  }
  await call((b) => b.removeNetwork(name, options.root ?? null));
}

/** Removes every network no live container uses; resolves to their names. */
export async function pruneNetworks(options: NetworkClientOptions = {}): Promise<string[]> {
  if (isRootless()) return rootlessNet<string[]>('prune', {}, options.root);
  return call((b) => b.pruneNetworks(options.root ?? null));
}

/** Connects a container's network namespace (by pid or netns path) to a network. */
export async function attachContainer(options: AttachOptions): Promise<Endpoint> {
  const ports = options.ports?.map((p, i) => portSpec(p, `ports[${i}]`));
  if (isRootless()) {
    const { root, ...rest } = options;
    return rootlessNet<Endpoint>('attach', strip({ ...rest, ports }), root);
  }
  return call((b) => b.attachContainer(strip({ ...options, ports })));
}

/** Undoes attachContainer; resolves to the endpoint ids removed. */
export function detachContainer(options: DetachOptions): Promise<string[]> {
  if (isRootless()) {
    const { root, ...rest } = options;
    return rootlessNet<string[]>('detach', strip(rest), root);
  }
  return call((b) => b.detachContainer(strip(options)));
}

/**
 * Detach resolves once the kernel has unregistered the container's veth (gone from every listing, off
 * the bridge, its name free); the kernel then still waits for an RCU grace period before it frees
 * the device, on a reaper thread. This resolves when all of those have finished (the addon also
 * waits for them when Node exits); it rejects with the failures, of which none are expected.
 */
export async function settleNetworkTeardown(): Promise<void> {
  const failures = await call<string[]>((b) => b.settleNetworkTeardown());
  if (failures.length > 0) throw new Error(`veth teardown: ${failures.join('; ')}`);
}
