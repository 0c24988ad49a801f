/**
 * The start hook's half for a rootless container on a user-defined network (`nsbox network create
 * mynet` as a normal user, then `--network mynet`): prepare finds the user's network holder and
 * asks the runtime to make the container's user namespace inside the holder's
 * (`org.nsbox.userns-parent`, nsbox-container's create/userns_parent.rs), so that the attach,
 * which runs in the holder's namespaces (bridge.ts), may create both ends of the veth.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';

import { fromWire, invalidSpec } from '../../errors.js';
import type { StartHookContext, Teardown } from '../../hooks.js';
import { isNamedNetwork } from '../../network-options.js';
import type { ValidatedOptions } from '../../options.js';
import type { Endpoint } from '../types.js';
import { HELPER_DNS } from './helper.js';
import { HELPER_NETWORKS, rootlessNet, rootlessNetSync, rootlessNetworkExists, rootlessWatch, type HolderInfo } from './bridge.js';
import { isRootless, netRunDir } from './state-dir.js';

export const ANNOTATION_USERNS_PARENT = 'org.nsbox.userns-parent';

export interface RootlessBridge {
  network: string;
  holder: HolderInfo;
  /** The name server the container's resolv.conf gets: the holder's egress helper's forwarder. */
  dns: string;
}

/** Whether this is a rootless container on a user-defined network (not pasta, slirp4netns or the default). */
export function isRootlessBridge(o: ValidatedOptions): boolean {
  return isRootless() && isNamedNetwork(o.network) && !HELPER_NETWORKS.has(o.network);
}

/** Before the runtime starts: the network must exist (so its holder runs); what the runtime needs. */
export function prepareRootlessBridge(o: ValidatedOptions): RootlessBridge {
  const network = o.network!;
  // (Its user namespace of its own is checked by the runtime, which refuses the annotation without one.)
  if (o.namespaces !== undefined && !o.namespaces.includes('net')) {
    throw invalidSpec('namespaces', `a container on network ${network} needs a net namespace of its own`);
  }
  const holder = rootlessNetSync<HolderInfo | null>('holder', {});
  if (!holder || !rootlessNetworkExists(network)) {
    throw fromWire({
      code: 'ERR_NETWORK_NOT_FOUND', op: 'network', path: network, errno: null,
      message: `network ${JSON.stringify(network)} not found among this user's rootless networks: create it with \`nsbox network create ${network}\` (as this user), or use --network pasta`,
    });
  }
  return { network, holder, dns: HELPER_DNS[holder.helper] };
}

/** The annotation that puts the container's user namespace inside the holder's. */
export function bridgeAnnotations(b: RootlessBridge): Record<string, string> {
  return { [ANNOTATION_USERNS_PARENT]: `/proc/${b.holder.nsPid}/ns/user` };
}

/** `ROOT/run/helpers/ID/status.json`: what ps and inspect show (running: while the holder lives). */
function statusDir(id: string): string {
  return path.join(netRunDir(), 'helpers', id);
}

function writeStatus(id: string, b: RootlessBridge, ep: Endpoint, o: ValidatedOptions): void {
  const dir = statusDir(id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'status.json'), JSON.stringify({
    helper: `holder of ${b.network}`, network: b.network, dns: b.dns, address: `${ep.ip}/${ep.prefixLen}`, bridge: ep.bridge, hostVeth: ep.hostVeth,
    pid: b.holder.nsPid, keeperPid: b.holder.holderPid, holderPid: b.holder.holderPid, holderStart: b.holder.holderStart, running: true,
    // What the watcher publishes (TCP and UDP): inspect's and the TUI's ports, as for pasta's.
    ports: (o.ports ?? []).map((p) => ({ hostIp: p.hostIp ?? null, hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol ?? 'tcp' })),
  }), { mode: 0o600 });
}

type Files = { hostsPath?: string; resolvConfPath?: string; hostnamePath?: string };

/** Between `created` and `start`: a veth from the network's bridge into the container's netns. */
export async function attachRootlessBridge(ctx: StartHookContext, b: RootlessBridge, files: Files, filesDir: string): Promise<Teardown> {
  const o = ctx.options;
  const ep = await rootlessNet<Endpoint>('attach', {
    pid: ctx.pid, network: b.network, ip: o.ip, mac: o.mac, dns: o.dns?.length ? o.dns : [b.dns],
    container: o.name ?? ctx.id.slice(0, 12), hostname: o.hostname, ...files,
  });
  writeStatus(ctx.id, b, ep, o);
  // A detached container outlives its starter: a watcher of ours publishes its ports (-p) and
  // cleans up after it (crates/nsbox-net/src/rootless/watch.rs).
  try {
    await rootlessWatch({ pid: ctx.pid, endpoint: ep.id, network: b.network, ip: ep.ip, ports: o.ports ?? [], cleanup: [statusDir(ctx.id), filesDir] });
  } catch (e) {
    await rm(statusDir(ctx.id), { recursive: true, force: true });
    await rootlessNet<string[]>('detach', { endpoint: ep.id, network: b.network }).catch(() => {});
    throw e;
  }
  // After the container: its veth went with its netns; the lease goes now (else at the next
  // operation on the network, as after a SIGKILL).
  return {
    async teardown() {
      await rm(statusDir(ctx.id), { recursive: true, force: true });
      await rootlessNet<string[]>('detach', { endpoint: ep.id, network: b.network });
    },
  };
}
