/**
 * Published UDP ports on a rootless user-defined network (issue #13), as `nobody` in the throwaway
 * host of rootless-host.ts (h0 192.0.2.1 + 192.0.2.9): the container's watcher relays each client's
 * datagrams through a flow of its own (crates/nsbox-net/src/rootless/udp/). socat in the container
 * echoes each datagram after the peer it saw; node's dgram sockets are the clients (root in this
 * namespace: a client needs no privilege, and its answers' source address is what they check).
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

import { report, until } from './common.js';
import { AS_NOBODY, cli, liveProcs, ofThisScenario, setupHost, XDG } from './rootless-host.js';

setupHost();
// Whatever happens below, nothing of ours outlives the scenario (no-ops once done).
process.on('exit', () => { cli(['rm', '-f', 'uecho']); cli(['network', 'rm', 'udpnet']); });
const LIB = fileURLToPath(new URL('../../../ts/dist/index.js', import.meta.url));
const facts: Record<string, unknown> = {};
const ECHO = ['socat', 'UDP-RECVFROM:99,fork', 'SYSTEM:echo from $SOCAT_PEERADDR/$SOCAT_PEERPORT; cat'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Answer = { text: string; sources: string[] };
/** A UDP client bound to `ip`: asks `to:port` each payload in turn, collecting answers until each payload is back. */
async function ask(ip: string, to: string, port: number, payloads: string[], waitMs = 2000): Promise<Answer> {
  const s: Socket = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, ip, r));
  const got: Answer = { text: '', sources: [] };
  s.on('message', (m, r) => {
    got.text += m.toString();
    if (!got.sources.includes(`${r.address}:${r.port}`)) got.sources.push(`${r.address}:${r.port}`);
  });
  for (const p of payloads) {
    s.send(`${p}\n`, port, to);
    const end = Date.now() + waitMs;
    while (!got.text.includes(p) && Date.now() < end) await sleep(20);
  }
  await sleep(100); // the rest of the last answer (socat's echo and cat may be two datagrams)
  s.close();
  return got;
}
/** Asks until an answer comes (the container's socat may not listen yet when run -d returns). */
async function firstAnswer(ip: string, to: string, port: number): Promise<Answer> {
  let a: Answer = { text: '', sources: [] };
  for (let i = 0; i < 20 && !a.text.includes('ready?'); i++) a = await ask(ip, to, port, ['ready?'], 400);
  return a;
}
const watchers = () => liveProcs('rootless-net\0watch').filter((p) => ofThisScenario(p.pid)).length;
const holder = () => [...liveProcs('net-holder'), ...liveProcs('run/netns-helper/')].filter((p) => ofThisScenario(p.pid)).length;
/** Whether this namespace's UDP port can be bound again (EADDRINUSE while a watcher holds it). */
async function udpFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  const ok = await new Promise<boolean>((r) => { s.once('error', () => r(false)); s.bind(port, '0.0.0.0', () => r(true)); });
  try { s.close(); } catch { /* never bound */ }
  return ok;
}

// 1. A network, a UDP echo server on it with -p 9998:99/udp (all the host's addresses).
facts.create = cli(['network', 'create', 'udpnet', '--subnet', '10.90.7.0/24']);
facts.run = cli(['run', '-d', '--name', 'uecho', '--network', 'udpnet', '-p', '9998:99/udp', '--', ...ECHO]);
facts.first = await firstAnswer('127.0.0.1', '127.0.0.1', 9998);
// 2. From the host's loopback, and from one of its addresses to another (the answer must come from
// the address asked: a connected client drops any other).
facts.loopback = await ask('127.0.0.1', '127.0.0.1', 9998, ['ping-loopback']);
facts.address = await ask('192.0.2.9', '192.0.2.1', 9998, ['ping-address']);
// 3. Two clients at once, each twice: each gets its own answers, through a flow (a port inside) of its own.
[facts.clientA, facts.clientB] = await Promise.all([ask('127.0.0.1', '127.0.0.1', 9998, ['ping-a1', 'ping-a2']), ask('127.0.0.1', '127.0.0.1', 9998, ['ping-b1', 'ping-b2'])]);
facts.inspect = cli(['inspect', 'uecho']);
facts.psPorts = cli(['ps', '--format', '{{.Names}} {{.Ports}}']);
facts.watchersRunning = watchers();

// 4. The host's port taken (by a socket of this namespace): the start fails, nothing is left.
const taken = createSocket('udp4');
await new Promise<void>((r) => taken.bind(9996, '0.0.0.0', r));
facts.portTaken = cli(['run', '--rm', '--name', 'utaken', '--network', 'udpnet', '-p', '9996:99/udp', '--', 'true']);
taken.close();
facts.takenLeft = cli(['ps', '-a', '--format', '{{.Names}}']).stdout;
// A port below this netns's net.ipv4.ip_unprivileged_port_start (1024): EACCES, and why.
facts.lowPort = cli(['run', '--rm', '--network', 'udpnet', '-p', '53:99/udp', '--', 'true']);

// 5. The TypeScript API: ports [{ hostIp, hostPort, containerPort, protocol: 'udp' }], one answer.
const tsScript = `const { run } = await import(${JSON.stringify(LIB)});
const r = await run({ command: ['timeout', '15', 'socat', 'UDP-RECVFROM:99', 'SYSTEM:echo ts-answer; cat'], network: 'udpnet',
  ports: [{ hostIp: '127.0.0.1', hostPort: 9997, containerPort: 99, protocol: 'udp' }] });
console.log(JSON.stringify(r));`;
const ts = spawn(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, '--input-type=module', '-e', tsScript], { cwd: '/', env: { PATH: process.env.PATH!, HOME: '/nonexistent', XDG_RUNTIME_DIR: XDG } });
let tsOut = '';
let tsErr = '';
ts.stdout.on('data', (d: Buffer) => (tsOut += d.toString()));
ts.stderr.on('data', (d: Buffer) => (tsErr += d.toString()));
const tsDone = new Promise<number | null>((r) => ts.on('close', r));
process.on('exit', () => ts.kill('SIGKILL'));
facts.tsAnswer = await firstAnswer('127.0.0.1', '127.0.0.1', 9997);
let timer: NodeJS.Timeout | undefined;
const tsCode = await Promise.race([tsDone, new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
clearTimeout(timer);
facts.tsApi = { code: tsCode, stdout: tsOut, stderr: tsErr };

// 6. rm: the watcher ends with the container and the host's port is free again; then the network.
facts.rm = cli(['rm', '-f', 'uecho']);
await until(() => watchers() === 0, 10_000);
facts.watchersAfterRm = watchers();
let free = false;
for (let i = 0; i < 100 && !(free = await udpFree(9998)); i++) await sleep(50);
facts.portFreeAfterRm = free;
facts.rmNet = cli(['network', 'rm', 'udpnet']);
await until(() => holder() === 0, 10_000);
facts.leftover = { watchers: watchers(), holder: holder(), ps: cli(['ps', '-a', '-q']).stdout };
report(facts);
