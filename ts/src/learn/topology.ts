/**
 * The bridge ⇄ veth ⇄ eth0 picture of S12–S15, built from the kernel: the bridge side from the network's
 * inspect (links as the kernel has them: ifindex, MAC, master, peer), the container side from
 * `ip` inside each container's own network namespace. As an ordinary user the bridges and their
 * veths live in the user's rootless network namespace, not the host's: that side is read there, by
 * `nsbox-runtime net-inside` on the holder's namespace process (rootlessNamespaceLinks; Node never
 * joins a namespace).
 */
import { readlinkSync } from 'node:fs';

import type { RuntimeContainer } from '../lifecycle/container.js';
import { rootlessNamespaceLinks } from '../lifecycle/network-helper.js';
import { inspectNetwork } from '../network/api.js';
import { isRootless } from '../network/rootless/state-dir.js';
import type { Network, NetworkDetail } from '../network/types.js';
import { LONG_RUNNING } from './host.js';
import type { Lab } from './lab.js';
import type { Probe, TopologyBridge } from './types.js';

export interface Box { c: RuntimeContainer; label: string; net: Network; eth0: TopologyBridge['endpoints'][number]['eth0'] }

export interface Built {
  nets: Network[];
  details: NetworkDetail[];
  boxes: Box[];
  bridges: TopologyBridge[];
  /** Where the bridges live: the host's network namespace (root), or the user's rootless one (its namespace process). */
  where: { kind: 'host' } | { kind: 'rootless'; nsPid: number };
}

const prefix = (subnet: string) => subnet.split('/')[1] ?? '';

/** Creates `layout.length` networks with the named containers on each and reads the picture back. */
export async function buildTopology(lab: Lab, layout: string[][]): Promise<Built> {
  const nets: Network[] = [];
  const boxes: Box[] = [];
  for (const [i, labels] of layout.entries()) {
    const net = await lab.network(`net${i + 1}`);
    nets.push(net);
    for (const label of labels) {
      const c = await lab.container(label, { network: net.name, command: LONG_RUNNING });
      const out = (await lab.exec(c, ['/bin/sh', '-c', 'ip -o link show eth0; ip -4 -o addr show eth0'])).stdout;
      const link = /^(\d+): eth0@if(\d+):.*link\/ether ([0-9a-f:]+)/m.exec(out);
      const addr = /inet (\S+)/.exec(out);
      boxes.push({ c, label, net, eth0: { ifindex: Number(link?.[1] ?? 0), peerIfindex: Number(link?.[2] ?? 0), mac: link?.[3] ?? '?', address: addr?.[1] ?? '?' } });
    }
  }
  let details = await Promise.all(nets.map((n) => inspectNetwork(n.name)));
  let where: Built['where'] = { kind: 'host' };
  if (isRootless()) {
    // The bridge side as the kernel reports it inside the rootless namespace (by link name).
    const { holder, links } = await rootlessNamespaceLinks();
    lab.check();
    const byName = new Map(links.map((l) => [l.name, l]));
    details = details.map((d) => ({ ...d, bridgeLink: byName.get(d.bridge) ?? null, endpoints: d.endpoints.map((e) => ({ ...e, hostLink: byName.get(e.hostVeth) ?? null })) }));
    where = { kind: 'rootless', nsPid: holder.nsPid };
  }
  const bridges = details.map((d): TopologyBridge => ({
    name: d.bridge,
    address: `${d.gateway}/${prefix(d.subnet)}`,
    ifindex: d.bridgeLink?.index ?? 0,
    mac: d.bridgeLink?.mac ?? d.mac,
    endpoints: boxes.filter((b) => b.net.name === d.name).map((b) => {
      const ep = d.endpoints.find((e) => e.container === b.c.name || e.ip === b.eth0.address.split('/')[0]);
      return {
        container: b.label,
        hostVeth: { name: ep?.hostVeth ?? '?', ifindex: ep?.hostLink?.index ?? 0, mac: ep?.hostLink?.mac ?? '?' },
        eth0: b.eth0,
      };
    }),
  }));
  return { nets, details, boxes, bridges, where };
}

/** Whether every endpoint is a veth pair whose ends name each other and whose host end is on the bridge. */
export function pairsCheck(built: Built): string[] {
  const wrong: string[] = [];
  for (const [i, br] of built.bridges.entries()) {
    const d = built.details[i]!;
    if (!d.bridgeLink || d.bridgeLink.kind !== 'bridge') wrong.push(`${br.name}: no bridge link`);
    for (const e of br.endpoints) {
      const link = d.endpoints.find((x) => x.hostVeth === e.hostVeth.name)?.hostLink;
      if (!link) wrong.push(`${e.container}: host veth ${e.hostVeth.name} not found`);
      else {
        if (link.kind !== 'veth') wrong.push(`${e.hostVeth.name} is a ${link.kind}`);
        if (link.master !== br.ifindex) wrong.push(`${e.hostVeth.name} is not enslaved to ${br.name}`);
        if (link.peer !== e.eth0.ifindex) wrong.push(`${e.hostVeth.name}'s peer is ${link.peer}, eth0 is ${e.eth0.ifindex}`);
      }
      if (e.eth0.peerIfindex !== e.hostVeth.ifindex) wrong.push(`${e.container}: eth0@if${e.eth0.peerIfindex}, host veth is ${e.hostVeth.ifindex}`);
    }
  }
  const own = readlinkSync('/proc/self/ns/net');
  for (const b of built.boxes) {
    if (readlinkSync(`/proc/${b.c.pid}/ns/net`) === own) wrong.push(`${b.label} shares the host's network namespace`);
  }
  if (built.where.kind === 'rootless') {
    // The bridges must not be the host's: the holder's namespace is another one.
    let theirs = '';
    try {
      theirs = readlinkSync(`/proc/${built.where.nsPid}/ns/net`);
    } catch { /* not ours to read: the links came from there anyway */ }
    if (theirs === own) wrong.push('the rootless network namespace is the host\'s');
  }
  return wrong;
}

/** Pings `to` from `from` once (a bounded wait) and records the outcome beside what the claim expects. */
export async function ping(lab: Lab, from: Box, to: { label: string; address: string }, expected: boolean): Promise<Probe> {
  const address = to.address.split('/')[0]!;
  const r = await lab.exec(from.c, ['ping', '-c', '1', '-W', '1', address]);
  return { from: from.label, to: to.label, address, kind: 'ping', ok: r.exitCode === 0, expected };
}
