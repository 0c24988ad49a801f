/**
 * Published UDP ports on a rootless user-defined network (issue #13): `-p 9998:99/udp` on a network
 * of nobody's answers clients on the fake host's loopback and on one of its addresses (from the
 * address asked), two clients at once each get their own answers through a flow of their own, the
 * TS API's `protocol: 'udp'` with a host IP, inspect and `ps --format {{.Ports}}` list the port, a
 * host port taken fails the start with EADDRINUSE and leaves nothing, a port below 1024 says why
 * (EACCES), and after rm the watcher is gone and the port is free. As nobody in a throwaway
 * `unshare --net --mount` namespace (scenarios/rootless-bridge-udp.ts).
 * CI budget: 40 s (one scenario: a holder, 3 containers, ~12 CLI calls; 3–6 s here).
 */
import test from 'ava';

import { runRootlessScenario } from './helpers.js';

type Cli = { code: number | null; stdout: string; stderr: string };
type Answer = { text: string; sources: string[] };
interface Facts {
  create: Cli; run: Cli; first: Answer; loopback: Answer; address: Answer; clientA: Answer; clientB: Answer; inspect: Cli; psPorts: Cli; watchersRunning: number;
  portTaken: Cli; takenLeft: string; lowPort: Cli; tsAnswer: Answer; tsApi: { code: number | string | null; stdout: string; stderr: string };
  rm: Cli; watchersAfterRm: number; portFreeAfterRm: boolean; rmNet: Cli; leftover: { watchers: number; holder: number; ps: string };
}

/** The peer (inside the holder's namespace: the bridge's address, a flow's port) socat saw. */
const peer = (a: Answer) => /from (10\.90\.7\.1\/\d+)/.exec(a.text)?.[1] ?? null;

test('rootless user-defined network: published UDP ports (flows per client, source address, EADDRINUSE, cleanup)', async (t) => {
  const f = await runRootlessScenario<Facts>(t, 'rootless-bridge-udp');
  if (!f) return;

  t.is(f.create.code, 0, f.create.stderr);
  t.is(f.run.code, 0, f.run.stderr);
  t.regex(f.first.text, /ready\?/, `the first answer: ${JSON.stringify(f.first)}`);
  t.regex(f.loopback.text, /^from 10\.90\.7\.1\/\d+\nping-loopback\n$/, `from the host's loopback: ${JSON.stringify(f.loopback)}`);
  t.deepEqual(f.loopback.sources, ['127.0.0.1:9998']);
  t.regex(f.address.text, /^from 10\.90\.7\.1\/\d+\nping-address\n$/, `from the host's 192.0.2.9 to 192.0.2.1: ${JSON.stringify(f.address)}`);
  t.deepEqual(f.address.sources, ['192.0.2.1:9998'], 'answered from the address asked, not the route\'s source (192.0.2.9)');

  // Two clients at once: each sees only its own payloads, each client's two datagrams one flow.
  for (const [c, mine, theirs] of [[f.clientA, 'a', 'b'], [f.clientB, 'b', 'a']] as const) {
    t.regex(c.text, new RegExp(`ping-${mine}1\\n[\\s\\S]*ping-${mine}2\\n`), JSON.stringify(c));
    t.notRegex(c.text, new RegExp(`ping-${theirs}`), `client ${mine} got none of ${theirs}'s answers`);
    const peers = [...c.text.matchAll(/from (\S+)/g)].map((m) => m[1]);
    t.is(new Set(peers).size, 1, `one flow for client ${mine}: ${peers}`);
  }
  t.not(peer(f.clientA), peer(f.clientB), 'a flow of its own per client');
  t.truthy(peer(f.clientA));

  const helper = (JSON.parse(f.inspect.stdout || '[{}]') as Array<{ networkHelper?: { ports?: unknown } }>)[0]?.networkHelper;
  t.deepEqual(helper?.ports, [{ hostIp: null, hostPort: 9998, containerPort: 99, protocol: 'udp' }], 'inspect lists the UDP port');
  t.is(f.psPorts.stdout, 'uecho 0.0.0.0:9998->99/udp\n', 'ps --format {{.Ports}}');
  t.is(f.watchersRunning, 1);

  t.is(f.portTaken.code, 125);
  t.regex(f.portTaken.stderr, /^nsbox: publish port\(0\.0\.0\.0:9996\/udp\): EADDRINUSE: cannot bind 0\.0\.0\.0:9996\/udp for 10\.90\.7\.\d+:99\/udp/m, f.portTaken.stderr);
  t.notRegex(f.takenLeft, /utaken/, 'the failed container is gone');
  t.is(f.lowPort.code, 125);
  t.regex(f.lowPort.stderr, /^nsbox: publish port\(0\.0\.0\.0:53\/udp\): EACCES: cannot bind .*: Permission denied \(ports below 1024, net\.ipv4\.ip_unprivileged_port_start, are root's: .*sysctl -w net\.ipv4\.ip_unprivileged_port_start=53\)$/m, f.lowPort.stderr);

  t.regex(f.tsAnswer.text, /ts-answer\nready\?/, `TS ports [{ hostIp: '127.0.0.1', protocol: 'udp' }]: ${JSON.stringify(f.tsAnswer)}`);
  t.deepEqual(f.tsAnswer.sources, ['127.0.0.1:9997']);
  t.is(f.tsApi.code, 0, f.tsApi.stderr);
  t.like(JSON.parse(f.tsApi.stdout || '{}'), { exitCode: 0 });

  t.is(f.rm.code, 0, f.rm.stderr);
  t.is(f.watchersAfterRm, 0, 'the watcher ends with the container');
  t.true(f.portFreeAfterRm, 'the host port can be bound again after rm');
  t.is(f.rmNet.code, 0, f.rmNet.stderr);
  t.deepEqual(f.leftover, { watchers: 0, holder: 0, ps: '' });
});
