/**
 * Rootless networking (issue #13), beyond tests/network/rootless.test.ts: a published UDP port from
 * the host's address, ICMP refused and explained by this netns's ping_group_range, DNS through pasta
 * and slirp4netns to a resolver on the fake host, slirp4netns's UDP port, and inspect reading a
 * running rootless container's tap device from its netns. As nobody, in a throwaway `unshare --net
 * --mount` namespace (scenarios/rootless-host.ts). CI budget: 60 s (one scenario, ~16 CLI calls; 15–20 s here, a few socat timeouts of 2 s included).
 */
import test from 'ava';

import { runRootlessScenario } from './helpers.js';

type Cli = { code: number | null; stdout: string; stderr: string };
interface Iface { name: string; index: number; mac: string | null; mtu: number | null; up: boolean; addresses: string[] }
interface Helper {
  helper: string; running: boolean; pid: number; interfaces: Iface[]; gateway: string | null; dns: string; hostLoopback: boolean;
  ports: Array<{ hostIp: string | null; hostPort: number; containerPort: number; protocol: string }>; icmp: { allowed: boolean; range: string; reason?: string };
}
interface Facts {
  udp: Cli; udpReply: string; udpLoopback: string; udpOwnAddress: string; slirpLoopback: string; slirpLogs: string; inspectPasta: Helper | null; ipInside: string; pingExcluded: Cli; icmpExcluded: Helper['icmp'] | null;
  pingIncluded: Cli; icmpIncluded: Helper['icmp'] | null; rmUdp: Cli; dnsPasta: Cli; dnsSlirp: Cli; dnsMissing: Cli; dnsLog: string;
  slirpUdp: Cli; slirpReply: string; inspectSlirp: Helper | null; rmSudp: Cli; inspectGone: number | null;
}

test('rootless networking: UDP published ports, ICMP and ping_group_range, DNS to the host\'s resolver, inspect from inside', async (t) => {
  const f = await runRootlessScenario<Facts>(t, 'rootless-extra');
  if (!f) return;

  t.is(f.udp.code, 0, f.udp.stderr);
  t.regex(f.udpReply, /^from 192\.0\.2\.9\nping-udp$/m, `-p 9998:9999/udp from the host's address 192.0.2.9, answered: ${f.udpReply}`);
  t.regex(f.udpLoopback, /^from 127\.0\.0\.1\nping-udp$/m, `… and from its loopback: ${f.udpLoopback}`);
  t.log(`pasta, UDP from the address the container shares (no answer expected with --no-map-gw): ${JSON.stringify(f.udpOwnAddress)}`);

  // inspect: the container's side as read from its netns, matching what `ip` inside shows.
  const h = f.inspectPasta;
  t.like(h, { helper: 'pasta', running: true, dns: '169.254.1.1', gateway: '192.0.2.254', hostLoopback: false });
  t.deepEqual(h?.ports, [{ hostIp: null, hostPort: 9998, containerPort: 9999, protocol: 'udp' }]);
  const tap = h?.interfaces.find((i) => i.name !== 'lo');
  t.truthy(tap, JSON.stringify(h));
  t.is(tap?.addresses[0], '192.0.2.1/24', "pasta copies the host's first address");
  t.regex(tap?.mac ?? '', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  t.true(f.ipInside.includes(`${tap?.index}: ${tap?.name}`) && f.ipInside.includes(`link/ether ${tap?.mac}`), `ip inside:\n${f.ipInside}\ninspect: ${JSON.stringify(tap)}`);
  t.true(f.ipInside.includes(`${tap?.name}    inet ${tap?.addresses[0]}`), f.ipInside);

  // ICMP: the range excludes nobody → no reply, and inspect says why and what to change.
  t.not(f.pingExcluded.code, 0, `ping without ping sockets: ${f.pingExcluded.stdout}`);
  t.like(f.icmpExcluded, { allowed: false, range: '1 0' });
  t.regex(f.icmpExcluded?.reason ?? '', /ping_group_range is "1 0", which includes none of the user's groups \(65534\).*sysctl -w net\.ipv4\.ping_group_range=/);
  t.is(f.pingIncluded.code, 0, `ping once the range includes nobody: ${f.pingIncluded.stdout}${f.pingIncluded.stderr}`);
  t.like(f.icmpIncluded, { allowed: true, range: '0 2147483647' });
  t.is(f.rmUdp.code, 0, f.rmUdp.stderr);

  // DNS: a real query and answer through each helper's forwarder.
  t.is(f.dnsPasta.code, 0, f.dnsPasta.stdout + f.dnsPasta.stderr);
  t.regex(f.dnsPasta.stdout, /Server:\s+169\.254\.1\.1[\s\S]*Address:? 192\.0\.2\.9/, f.dnsPasta.stdout);
  t.is(f.dnsSlirp.code, 0, f.dnsSlirp.stdout + f.dnsSlirp.stderr);
  t.regex(f.dnsSlirp.stdout, /Server:\s+10\.0\.2\.3[\s\S]*Address:? 192\.0\.2\.9/, f.dnsSlirp.stdout);
  t.regex(f.dnsMissing.stdout + f.dnsMissing.stderr, /NXDOMAIN|can't find/i, 'an unknown name is answered as such');
  t.regex(f.dnsLog, /query web\.nsbox\.test type 1 from 192\.0\.2\.1/, 'the queries reach the host\'s resolver from the host\'s address');

  // slirp4netns: published UDP port and inspect.
  t.is(f.slirpUdp.code, 0, f.slirpUdp.stderr);
  t.regex(f.slirpReply, /^from 192\.0\.2\.1\nping-udp$/m, `-p 9997:9999/udp through slirp4netns: ${f.slirpReply}`);
  t.regex(f.slirpLogs, /from 10\.0\.2\.2/, 'a datagram from the host\'s loopback arrives (from slirp4netns\'s host alias)');
  t.log(`slirp4netns, UDP from the host's loopback (no answer expected: 10.0.2.2 is dropped with the host loopback hidden): ${JSON.stringify(f.slirpLoopback)}`);
  t.like(f.inspectSlirp, { helper: 'slirp4netns', running: true, dns: '10.0.2.3', gateway: '10.0.2.2' });
  const stap = f.inspectSlirp?.interfaces.find((i) => i.name === 'tap0');
  t.is(stap?.addresses[0], '10.0.2.100/24', JSON.stringify(f.inspectSlirp));
  t.is(stap?.mtu, 65520);
  t.is(f.rmSudp.code, 0, f.rmSudp.stderr);
  t.not(f.inspectGone, 0, 'removed');
});
