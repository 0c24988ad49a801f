/**
 * The bridge ⇄ veth ⇄ eth0 picture of S12–S15, built from the kernel: the host side from the network's
 * inspect (links as the kernel has them: ifindex, MAC, master, peer), the container side from
 * `ip` inside each container's own network namespace.
 */
import { readlinkSync } from 'node:fs';

import type { RuntimeContainer } from '../lifecycle/container.js';
import { inspectNetwork } from '../network/api.js';
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
  const details = await Promise.all(nets.map((n) => inspectNetwork(n.name)));
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
  return { nets, details, boxes, bridges };
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
  for (const b of built.boxes) {
    if (readlinkSync(`/proc/${b.c.pid}/ns/net`) === readlinkSync('/proc/self/ns/net')) wrong.push(`${b.label} shares the host's network namespace`);
  }
  return wrong;
}

/** Pings `to` from `from` once (a bounded wait) and records the outcome beside what the claim expects. */
export async function ping(lab: Lab, from: Box, to: { label: string; address: string }, expected: boolean): Promise<Probe> {
  const address = to.address.split('/')[0]!;
  const r = await lab.exec(from.c, ['ping', '-c', '1', '-W', '1', address]);
  return { from: from.label, to: to.label, address, kind: 'ping', ok: r.exitCode === 0, expected };
}
