/**
 * Rootless networking (issue #13), what rootless.ts does not cover, as `nobody` in the same kind of
 * throwaway host (rootless-host.ts): a published UDP port reached from the host's address (a round
 * trip), ICMP echo refused and explained while this netns's ping_group_range excludes the user and
 * working once it includes it, DNS through pasta and slirp4netns to a real (tiny) resolver on the
 * fake host, slirp4netns's published UDP port, and `inspect` of running rootless containers (the
 * tap device as read from inside their netns, against what `ip` inside says).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { report, sh, until } from './common.js';
import { cli, setPingGroups, setupHost } from './rootless-host.js';

setupHost('1 0'); // Debian's default: no group may open ping sockets.
const servers: ChildProcess[] = [];
process.on('exit', () => servers.forEach((s) => s.kill('SIGKILL')));
const facts: Record<string, unknown> = {};
const helperOf = (name: string) => (JSON.parse(cli(['inspect', name]).stdout || '[{}]') as Array<{ networkHelper?: unknown }>)[0]?.networkHelper ?? null;
const inside = (name: string, cmd: string) => cli(['exec', name, 'sh', '-c', cmd]);

// 1. A published UDP port, answered: socat in the container echoes each datagram, after the peer
// address it saw. From the host's second address and its loopback. (Not from 192.0.2.1: pasta gave
// the container that address too, and with the host loopback hidden (--no-map-gw) pasta 2023-03
// passes such a UDP source through unmapped, so the container answers itself; with --map-gw it
// arrives from the gateway. docs/networking.md says so.)
const echo = ['socat', 'UDP-RECVFROM:9999,fork', 'SYSTEM:echo from $SOCAT_PEERADDR; echo from $SOCAT_PEERADDR >&2; cat'];
const udpAsk = (to: string) => sh(`echo ping-udp | timeout 4 socat -t2 -T3 - UDP:${to}`).out;
facts.udp = cli(['run', '-d', '--name', 'udp', '-p', '9998:9999/udp', '--network', 'pasta', '--', ...echo]);
let udpReply = '';
await until(() => (udpReply = udpAsk('192.0.2.1:9998,bind=192.0.2.9')).includes('ping-udp'), 8000);
facts.udpReply = udpReply;
facts.udpLoopback = udpAsk('127.0.0.1:9998');
facts.udpOwnAddress = udpAsk('192.0.2.1:9998');

// 2. inspect of the running pasta container: its interfaces read from inside, against `ip` inside.
facts.inspectPasta = helperOf('udp');
facts.ipInside = inside('udp', 'ip -o link show; ip -o -4 addr show').stdout;

// 3. ICMP: this netns's range excludes nobody → no answer, and inspect says why; included → ping works.
facts.pingExcluded = inside('udp', 'ping -c 1 -W 2 192.0.2.9');
facts.icmpExcluded = (facts.inspectPasta as { icmp?: unknown } | null)?.icmp ?? null;
setPingGroups('0 2147483647');
facts.pingIncluded = inside('udp', 'ping -c 1 -W 3 192.0.2.9');
facts.icmpIncluded = (helperOf('udp') as { icmp?: unknown } | null)?.icmp ?? null;
facts.rmUdp = cli(['rm', '-f', 'udp']);

// 4. DNS to a resolver on the fake host (192.0.2.9:53, the host's resolv.conf), through each helper.
const dns = spawn(process.execPath, [fileURLToPath(new URL('./dns-responder.mjs', import.meta.url)), '192.0.2.9', 'web.nsbox.test', '192.0.2.9']);
servers.push(dns);
let dnsLog = '';
dns.stdout.setEncoding('utf8').on('data', (d: string) => (dnsLog += d));
await until(() => dnsLog.includes('ready'));
facts.dnsPasta = cli(['run', '--rm', '--network', 'pasta', '--', 'busybox', 'nslookup', 'web.nsbox.test']);
facts.dnsSlirp = cli(['run', '--rm', '--network', 'slirp4netns', '--', 'busybox', 'nslookup', 'web.nsbox.test']);
facts.dnsMissing = cli(['run', '--rm', '--network', 'pasta', '--', 'busybox', 'nslookup', 'nothing.nsbox.test']);
await until(() => (dnsLog.match(/query web\.nsbox\.test type 1/g) ?? []).length >= 2);
facts.dnsLog = dnsLog;

// 5. slirp4netns: outbound UDP from the container to the host and a published UDP port, and inspect.
facts.slirpUdp = cli(['run', '-d', '--name', 'sudp', '-p', '9997:9999/udp', '--network', 'slirp4netns', '--', ...echo]);
// slirp4netns shows a datagram from the host's loopback as from 10.0.2.2, its host alias, which
// --disable-host-loopback drops the answers to; from the host's address it is answered.
let slirpLogs = '';
await until(() => {
  facts.slirpLoopback = udpAsk('127.0.0.1:9997');
  return /from 10\.0\.2\.2/.test((slirpLogs = cli(['logs', 'sudp']).stderr));
}, 8000);
facts.slirpLogs = slirpLogs;
let slirpReply = '';
await until(() => (slirpReply = udpAsk('192.0.2.1:9997')).includes('ping-udp'), 8000);
facts.slirpReply = slirpReply;
facts.inspectSlirp = helperOf('sudp');
facts.rmSudp = cli(['rm', '-f', 'sudp']);
facts.inspectGone = cli(['inspect', 'sudp']).code;

for (const s of servers) s.kill();
report(facts);
