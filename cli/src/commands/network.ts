/** `nsbox network create|ls|inspect|rm|prune`: docker's network commands over the library. */
import type { Command } from 'commander';
import {
  createNetwork, inspectNetwork, listNetworks, pruneNetworks, removeNetwork, type NetworkDetail, type NetworkSummary,
} from 'nsbox';

import { reportError } from '../report-error.js';

interface FormatFlag {
  format: string;
}

interface CreateFlags extends FormatFlag {
  subnet?: string;
  gateway?: string;
  mtu?: string;
  internal?: boolean;
}

function checkFormat(f: string): void {
  if (f !== 'table' && f !== 'json') throw new Error(`--format: expected table or json, not ${JSON.stringify(f)}`);
}

async function act(body: () => Promise<void>): Promise<void> {
  try {
    await body();
    process.exitCode = 0;
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

const json = (v: unknown): void => {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
};

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line), ''].join('\n');
}

export function addNetworkCommand(program: Command): void {
  const network = program.command('network').description('manage networks (bridge + veth + netns, like docker network)');

  network
    .command('create')
    .description('create a network: a Linux bridge holding the gateway address (as a normal user: in your rootless network namespace)')
    .argument('<NAME>')
    .option('--subnet <CIDR>', 'e.g. 10.201.0.0/24 (default: a free /24 of 10.89.0.0/16)')
    .option('--gateway <IP>', "the bridge's address (default: the subnet's first host)")
    .option('--mtu <N>', 'MTU of the bridge and veths (default 1500)')
    .option('--internal', 'no egress and no published ports')
    .option('--format <FORMAT>', 'table or json', 'table')
    .action((name: string, f: CreateFlags) => act(async () => {
      checkFormat(f.format);
      let mtu: number | undefined;
      if (f.mtu !== undefined) {
        if (!/^\d+$/.test(f.mtu)) throw new Error(`--mtu: ${JSON.stringify(f.mtu)} is not a number`);
        mtu = Number(f.mtu);
      }
      const n = await createNetwork({ name, subnet: f.subnet, gateway: f.gateway, mtu, internal: f.internal });
      if (f.format === 'json') json(n);
      else process.stdout.write(`${n.name} ${n.bridge} ${n.subnet} gateway ${n.gateway}\n`);
    }));

  network
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('-q, --quiet', 'only names')
    .option('--format <FORMAT>', 'table or json', 'table')
    .action((f: FormatFlag & { quiet?: boolean }) => act(async () => {
      checkFormat(f.format);
      const nets = await listNetworks();
      if (f.quiet) return void process.stdout.write(nets.map((n) => `${n.name}\n`).join(''));
      if (f.format === 'json') return json(nets);
      process.stdout.write(table(
        ['NAME', 'BRIDGE', 'SUBNET', 'GATEWAY', 'MTU', 'INTERNAL', 'ENDPOINTS'],
        nets.map((n: NetworkSummary) => [n.name, n.bridge, n.subnet, n.gateway, String(n.mtu), n.internal ? 'yes' : 'no', String(n.endpoints)]),
      ));
    }));

  network
    .command('inspect')
    .description('show a network: bridge, gateway, and each endpoint (container, veth pair, IP, MAC)')
    .argument('<NAME...>')
    .option('--format <FORMAT>', 'table or json', 'json')
    .action((names: string[], f: FormatFlag) => act(async () => {
      checkFormat(f.format);
      const details = [];
      for (const n of names) details.push(await inspectNetwork(n));
      if (f.format === 'json') return json(details);
      process.stdout.write(details.map(topology).join('\n'));
    }));

  network
    .command('rm')
    .alias('remove')
    .description('remove networks no running container uses')
    .argument('<NAME...>')
    .action((names: string[]) => act(async () => {
      const errors: unknown[] = [];
      for (const n of names) {
        try {
          await removeNetwork(n);
          process.stdout.write(`${n}\n`);
        } catch (e) {
          errors.push(e);
        }
      }
      // Report every failure; exit with the first one's code.
      for (const e of errors.slice(1)) reportError(e);
      if (errors.length > 0) throw errors[0];
    }));

  network
    .command('prune')
    .description('remove every network no running container uses')
    .option('--format <FORMAT>', 'table or json', 'table')
    .action((f: FormatFlag) => act(async () => {
      checkFormat(f.format);
      const removed = await pruneNetworks();
      if (f.format === 'json') return json(removed);
      for (const n of removed) process.stdout.write(`${n}\n`);
    }));
}

/** bridge → host-side veth → container eth0, the article's picture as text (with each end's ifindex). */
export function topology(d: NetworkDetail): string {
  const lines = [`${d.name}: bridge ${d.bridge} ${d.gateway}/${d.subnet.split('/')[1]} mac ${d.mac} mtu ${d.mtu}${d.internal ? ' internal' : ''}${d.bridgeLink ? '' : ' (bridge missing)'}${d.rootless ? ' (in your rootless network namespace)' : ''}`];
  for (const e of d.endpoints) {
    const ports = e.ports.map((p) => `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
    // Like `ip link`: NAME@ifPEER, here on both ends of the pair (host end, container end).
    const host = e.hostLink ? `${e.hostVeth}@if${e.hostLink.index}` : `${e.hostVeth} (missing)`;
    const inside = e.hostLink?.peer != null ? `${e.containerIfname}@if${e.hostLink.peer}` : e.containerIfname;
    lines.push(`  └─ ${host} ⇄ ${inside} ${e.ip} ${e.mac}  ${e.container ?? e.id}${e.alive ? '' : ' (dead)'}${ports ? `  ${ports}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
