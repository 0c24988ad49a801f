/**
 * A rootless container's user-mode network as the Network tab and `inspect` show it: the
 * container's side (its tap device's name, ifindex, MAC, MTU and addresses, and its default route,
 * read from inside its network namespace), the helper (pasta or slirp4netns: pid, running or how it
 * ended, from the keeper's status.json) and the host's side (published ports, whether the host's
 * loopback is reachable, whether ICMP echo can work). A rootless container's netns belongs to its
 * user namespace, which only a single-threaded process may join: `nsbox-runtime net-inside PID`
 * reads it (crates/nsbox-net/src/rootless/inside.rs), never this process.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { rootlessNet, type HolderInfo } from '../network/rootless/bridge.js';
import { HELPER_DNS } from '../network/rootless/helper.js';
import { runtimePath } from '../platform.js';
import type { ContainerState, NetworkHelperState } from './state.js';

/** One interface of the container's network namespace (lo included). */
export interface HelperInterface {
  name: string;
  index: number;
  mac: string | null;
  mtu: number | null;
  up: boolean;
  /** "ADDR/PREFIX", IPv4 first. */
  addresses: string[];
}

/** Whether the helper can carry ICMP echo: both helpers use the host's ping sockets (as the user). */
export interface IcmpAvailability {
  allowed: boolean;
  /** The host's net.ipv4.ping_group_range, as read ("1 0" allows no group). */
  range: string | null;
  /** Why not, and what to change (only when not allowed). */
  reason?: string;
}

export interface NetworkHelperDetail extends NetworkHelperState {
  /** The name server the container's resolv.conf points at (the helper forwards it). */
  dns: string;
  /** The container's interfaces, read from its netns now ([] when it could not be read: see insideError). */
  interfaces: HelperInterface[];
  /** The default route's gateway inside the container (null when there is none, or unread). */
  gateway: string | null;
  icmp: IcmpAvailability;
  /** Why the container's side could not be read (it is not running, or the runtime failed). */
  insideError?: string;
}

interface InsideReply {
  interfaces?: Array<HelperInterface & { kind?: string | null; master?: number | null; peer?: number | null }>;
  routes?: Array<{ destination: string | null; prefixLen: number; gateway: string | null }>;
  error?: { code: string; message: string };
}

/** A link of a network namespace as the kernel reports it, with its bridge (master) and veth peer ifindexes. */
export interface NamespaceLink extends HelperInterface {
  kind: string | null;
  /** ifindex of the bridge it is enslaved to. */
  master: number | null;
  /** For a veth: the other end's ifindex (IFLA_LINK), in the namespace that end lives in. */
  peer: number | null;
}

/** Runs `nsbox-runtime net-inside PID`: the links, addresses and routes of PID's network namespace. */
export async function readInside(pid: number): Promise<{ interfaces: HelperInterface[]; gateway: string | null }> {
  const reply = await netInside(pid);
  const interfaces = (reply.interfaces ?? []).map(({ name, index, mac, mtu, up, addresses }) => ({ name, index, mac, mtu, up, addresses }));
  const def = (reply.routes ?? []).find((r) => r.destination === null && r.prefixLen === 0 && r.gateway);
  return { interfaces, gateway: def?.gateway ?? null };
}

/**
 * The links of a rootless user's network namespace (where its bridges and their veths live), read by
 * `nsbox-runtime net-inside` on the holder's namespace process, found as the runtime finds it
 * (`rootless-net holder`). Rejects when the user has no holder (no rootless network).
 */
export async function rootlessNamespaceLinks(root?: string): Promise<{ holder: HolderInfo; links: NamespaceLink[] }> {
  const holder = await rootlessNet<HolderInfo | null>('holder', {}, root);
  if (!holder) throw new Error('rootless network namespace: no holder is running (the user has no rootless network)');
  const reply = await netInside(holder.nsPid);
  const links = (reply.interfaces ?? []).map(({ name, index, mac, mtu, up, addresses, kind, master, peer }) => (
    { name, index, mac, mtu, up, addresses, kind: kind ?? null, master: master ?? null, peer: peer ?? null }));
  return { holder, links };
}

function netInside(pid: number): Promise<InsideReply> {
  return new Promise((resolve, reject) => {
    execFile(runtimePath(), ['net-inside', String(pid)], { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      let reply: InsideReply;
      try {
        reply = JSON.parse(stdout.trim().split('\n').pop() ?? '') as InsideReply;
      } catch {
        reject(new Error(`net-inside(${pid}): ${err?.message ?? 'no answer'} ${stderr}`.trim()));
        return;
      }
      if (reply.error) return reject(new Error(reply.error.message));
      resolve(reply);
    });
  });
}

/** Whether one of `gids` lies in net.ipv4.ping_group_range (read from `file`: this netns's, where the helper's sockets live). */
export function icmpAvailability(kind: NetworkHelperState['helper'], gids: number[], file = '/proc/sys/net/ipv4/ping_group_range'): IcmpAvailability {
  let range: string | null = null;
  try {
    range = readFileSync(file, 'utf8').trim().replace(/\s+/g, ' ');
  } catch {
    return { allowed: false, range: null, reason: `cannot read ${file}: ICMP echo through ${kind} is unknown` };
  }
  const [lo, hi] = range.split(' ').map(Number) as [number, number];
  if (gids.some((g) => g >= lo && g <= hi)) return { allowed: true, range };
  return {
    allowed: false, range,
    reason: `net.ipv4.ping_group_range is "${range}", which includes none of the user's groups (${[...new Set(gids)].join(', ')}): ${kind} forwards ICMP echo `
      + 'through ping sockets, so ping from the container gets no answer; fix: as root: sysctl -w net.ipv4.ping_group_range="0 2147483647"',
  };
}

function ownGids(): number[] {
  return [process.getgid?.() ?? 0, ...(process.getgroups?.() ?? [])];
}

/**
 * The helper's whole picture for a container state (null when the container has no helper). The
 * container's side is read only while it runs; a failure to read it is reported in `insideError`.
 */
export async function inspectNetworkHelper(s: ContainerState): Promise<NetworkHelperDetail | null> {
  const h = s.networkHelper;
  if (!h) return null;
  const detail: NetworkHelperDetail = {
    ...h, ports: h.ports ?? [], hostLoopback: h.hostLoopback ?? false, dns: h.dns ?? HELPER_DNS[h.helper as keyof typeof HELPER_DNS], interfaces: [], gateway: null,
    icmp: icmpAvailability(h.helper, ownGids()),
  };
  const running = s.status === 'running' || s.status === 'paused';
  if (!running || !s.pid) return { ...detail, insideError: `the container is ${s.status}` };
  try {
    return { ...detail, ...(await readInside(s.pid)) };
  } catch (e) {
    return { ...detail, insideError: (e as Error).message };
  }
}
