/**
 * Containers through the whole stack (TS API → runtime → start hook → nsbox-net): two on one
 * network reach each other, a published port answers the host, and after exit nothing remains.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { createNetwork, inspectNetwork, removeNetwork, run, spawn } from 'nsbox';

import { NFT, hostTcp, prepare, report, sh, until } from './common.js';

prepare();
const CLI = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const linksBefore = sh('ip -o link').out;
const net = await createNetwork({ name: 'blue', subnet: '10.201.0.0/24' });
const bridgeAddr = sh(`ip -4 -o addr show dev ${net.bridge}`).out;

// A: a server published on host port 8080.
const a = spawn({
  name: 'a', network: 'blue', ports: [{ hostPort: 8080, containerPort: 80 }],
  command: ['socat', 'TCP-LISTEN:80,reuseaddr,fork', 'SYSTEM:echo hello-from-a'], stdout: 'ignore', stderr: 'inherit',
});
await a.started;
const listening = await until(() => sh(`nsenter --net=/proc/${a.pid}/ns/net sh -c "grep -q ':0050 ' /proc/net/tcp"`).ok);
const during = await inspectNetwork('blue');
const hostVeth = during.endpoints[0]?.hostVeth ?? '';
const vethLink = sh(`ip -o link show ${hostVeth}`).out;
// What `network inspect` shows, against what the kernel says on both sides of the pair.
const inspectJson = cli('network', 'inspect', 'blue');
const inspectTable = cli('network', 'inspect', 'blue', '--format', 'table');
const hostSide = sh(`ip -o link show ${hostVeth}`).out;
const inside = sh(`nsenter --net=/proc/${a.pid}/ns/net ip -o link show eth0`).out;
const rmInUse = cli('network', 'rm', 'blue');

// B: looks at itself and talks to A by address and through the published port (hairpin).
const b = await run({
  name: 'b', network: 'blue', stdout: 'pipe', stderr: 'pipe',
  command: ['sh', '-c', 'ip -4 -o addr show eth0; ip route; socat -T2 - TCP:10.201.0.2:80; ping -c1 -W2 10.201.0.1 >/dev/null && echo ping-ok'],
});
const fromHost = hostTcp('127.0.0.1', 8080);
const fromHostAddr = hostTcp('10.201.0.1', 8080);
a.kill('SIGKILL');
await a.wait().catch(() => undefined);
const after = await inspectNetwork('blue');
const nftAfter = sh(`${NFT} list ruleset`).out;
await removeNetwork('blue');

report({
  bridge: net.bridge,
  bridgeAddr,
  inspectJson, inspectTable, hostSide, inside, rmInUse,
  listening,
  endpointsDuring: during.endpoints.map((e) => ({ container: e.container, ip: e.ip, alive: e.alive })),
  vethOnBridge: vethLink.includes(`master ${net.bridge}`),
  bExit: b.exitCode,
  bOut: b.stdout,
  bErr: b.stderr,
  fromHost,
  fromHostAddr,
  endpointsAfter: after.endpoints.length,
  portsLeftAfter: /8080/.test(nftAfter),
  linksRestored: sh('ip -o link').out === linksBefore,
  tablesAfterRemove: sh(`${NFT} list tables`).out.trim(),
});
