/**
 * Isolation, egress, the CLI, concurrency and reclaim, inside a throwaway host namespace with an
 * "outside world" namespace joined to it by a veth (198.51.100.1 host side, .2 outside).
 */
import { spawn as spawnChild, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { attachContainer, inspectNetwork, run, spawn } from 'nsbox';

import { NFT, prepare, report, sh, until } from './common.js';

const root = prepare();
const CLI = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const createBlue = cli('network', 'create', 'blue', '--subnet', '10.201.0.0/24');
const createRed = cli('network', 'create', 'red', '--subnet', '10.202.0.0/24', '--mtu', '1400');
const overlap = cli('network', 'create', 'green', '--subnet', '10.201.0.128/25');
const ls = JSON.parse(cli('network', 'ls', '--format', 'json').stdout) as Array<{ name: string; mtu: number }>;

// The outside world.
const outside = spawnChild('unshare', ['--net', '--', 'sleep', '600'], { stdio: 'ignore' });
await until(() => sh(`[ "$(readlink /proc/${outside.pid}/ns/net)" != "$(readlink /proc/self/ns/net)" ]`).ok);
const on = `nsenter --net=/proc/${outside.pid}/ns/net`;
sh(`ip link add out0 type veth peer name eth0 netns /proc/${outside.pid}/ns/net && ip addr add 198.51.100.1/24 dev out0 && ip link set out0 up`);
sh(`${on} sh -c 'ip addr add 198.51.100.2/24 dev eth0 && ip link set eth0 up && ip link set lo up'`);
// No shell in between (killing it would orphan socat), and a bounded life in case this script dies
// before it gets to kill the server: timeout passes our SIGTERM on to socat.
const srv = spawnChild('timeout', ['120', 'nsenter', `--net=/proc/${outside.pid}/ns/net`, '--', 'socat', 'TCP-LISTEN:9000,reuseaddr,fork', 'SYSTEM:echo $SOCAT_PEERADDR'], { stdio: 'ignore' });
await until(() => sh(`${on} sh -c "grep -q ':2328 ' /proc/net/tcp"`).ok);

// c on red serves; b on blue must not reach it, but reaches the outside with the host's address.
const c = spawn({ name: 'c', network: 'red', command: ['socat', 'TCP-LISTEN:7000,reuseaddr,fork', 'SYSTEM:echo hi'], stdout: 'ignore', stderr: 'ignore' });
await c.started;
await until(() => sh(`nsenter --net=/proc/${c.pid}/ns/net sh -c "grep -q ':1B58 ' /proc/net/tcp"`).ok);
const b = await run({
  name: 'b', network: 'blue', stdout: 'pipe', stderr: 'pipe',
  command: ['sh', '-c', 'socat -T2 - TCP:10.202.0.2:7000,connect-timeout=2 && echo cross-ok; socat -T2 - TCP:198.51.100.2:9000,connect-timeout=2; cat /sys/class/net/eth0/mtu'],
});
const redMtu = await run({ network: 'red', stdout: 'pipe', command: ['cat', '/sys/class/net/eth0/mtu'] });
c.kill('SIGKILL');
await c.wait().catch(() => undefined);

// 50 containers alive at once on blue: each prints its address, then waits for "go" on stdin.
const many = Array.from({ length: 50 }, () =>
  spawn({ network: 'blue', stderr: 'ignore', command: ['sh', '-c', 'ip -4 -o addr show eth0 | awk \'{print $4}\'; read go'] }));
const outs = many.map((m) => {
  let text = '';
  m.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  return () => text;
});
await until(() => outs.every((o) => o().includes('\n')), 60_000);
const ips = outs.map((o) => o().trim());
for (const m of many) m.stdin!.end('go\n');
await Promise.all(many.map((m) => m.wait()));

// A process that attached a "container" and was SIGKILLed with it: its lease is reclaimed.
const sleeper = spawnChild('unshare', ['--net', '--', 'sleep', '600'], { stdio: 'ignore' });
await until(() => sh(`[ "$(readlink /proc/${sleeper.pid}/ns/net)" != "$(readlink /proc/self/ns/net)" ]`).ok);
await attachContainer({ pid: sleeper.pid!, network: 'blue', ip: '10.201.0.77', root });
sleeper.kill('SIGKILL');
await until(() => sh(`[ ! -e /proc/${sleeper.pid}/ns ]`).ok);
const reclaimed = await run({ network: 'blue', ip: '10.201.0.77', stdout: 'pipe', command: ['sh', '-c', 'ip -4 -o addr show eth0 | awk \'{print $4}\''] });

const rmUnknown = cli('network', 'rm', 'nosuch');
const endpointsLeft = (await inspectNetwork('blue')).endpoints.length;
const prune = cli('network', 'prune', '--format', 'json');
srv.kill();
outside.kill();

report({
  createBlue, createRed, overlap, ls: ls.map((n) => [n.name, n.mtu]),
  bOut: b.stdout, bErr: b.stderr, redMtu: redMtu.stdout.trim(),
  ips, reclaimed: reclaimed.stdout.trim(), reclaimedErr: reclaimed.stderr,
  rmUnknown, endpointsLeft, prune: prune.stdout, tables: sh(`${NFT} list tables`).out.trim(), links: sh('ip -o link').out,
});
