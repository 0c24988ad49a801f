/**
 * `-P` (`publishAll`): each of the image's ExposedPorts not already published gets a host port from
 * the ephemeral range (32768–60999) that no host socket listens on (/proc/net), as docker picks
 * them. nsbox-net still checks each port when it publishes it (another container's, a socket bound
 * meanwhile): a clash fails the start naming the port, never silently.
 */
import { readFileSync } from 'node:fs';

import { invalidSpec } from '../errors.js';
import type { PortMapping } from '../options.js';

function portsInUse(proto: 'tcp' | 'udp'): Set<number> {
  const used = new Set<number>();
  for (const f of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const port = Number.parseInt(cols[1]?.split(':')[1] ?? '', 16);
      // tcp: listening sockets (state 0A); udp: every bound one.
      if (Number.isInteger(port) && (proto === 'udp' || cols[3] === '0A')) used.add(port);
    }
  }
  return used;
}

export function publishAll(reference: string, exposed: Record<string, unknown> | null | undefined, given: PortMapping[] = []): PortMapping[] {
  const out = [...given];
  const taken = { tcp: portsInUse('tcp'), udp: portsInUse('udp') };
  for (const p of given) taken[p.protocol ?? 'tcp'].add(p.hostPort);
  for (const key of Object.keys(exposed ?? {})) {
    const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(key);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw invalidSpec('publishAll', `image ${reference}: ExposedPorts ${JSON.stringify(key)} is not PORT[/tcp|udp]`);
    const containerPort = Number(m[1]);
    const protocol = (m[2] ?? 'tcp') as 'tcp' | 'udp';
    if (given.some((p) => p.containerPort === containerPort && (p.protocol ?? 'tcp') === protocol)) continue;
    const start = 32768 + Math.floor(Math.random() * (60999 - 32768 + 1));
    let hostPort = 0;
    for (let i = 0; i <= 60999 - 32768 && hostPort === 0; i++) {
      const c = 32768 + ((start - 32768 + i) % (60999 - 32768 + 1));
      if (!taken[protocol].has(c)) hostPort = c;
    }
    if (hostPort === 0) throw invalidSpec('publishAll', `no free ${protocol} port in 32768-60999 for ${key}`);
    taken[protocol].add(hostPort);
    out.push({ hostPort, containerPort, protocol });
  }
  return out;
}
