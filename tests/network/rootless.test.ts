/**
 * Rootless networking (issue #13): as `nobody`, through the CLI and the real runtime, pasta and
 * slirp4netns against a fake host network in a throwaway `unshare --net --mount` namespace
 * (scenarios/rootless.ts says how it is built). CI budget: 60 s (one scenario, ~15 containers).
 */
import test from 'ava';

import { runRootlessScenario } from './helpers.js';

type Cli = { code: number | null; stdout: string; stderr: string };
interface Facts {
  tsApi: Cli;
  ping: Cli; dnsSend: Cli; dnsGot: string; udp: Cli; udpLogs: string;
  outbound: Cli; defaultNet: Cli; loopbackHidden: Cli; loopbackAsked: Cli; slirp: Cli;
  web: Cli; slirpWeb: Cli; slirpPublished: { ok: boolean; out: string }; fromLoopback: { ok: boolean; out: string }; fromAddress: { ok: boolean; out: string };
  whileRunning: { procs: string[]; state: boolean }; rm: Cli; afterRm: { procs: string[]; state: string };
  beforeKill: string[]; afterMonitorKill: { procs: string[]; state: string }; afterKeeperKill: string[]; psLost: string; inspectRunning: Record<string, unknown> | null; inspectLost: Record<string, unknown> | null; afterLostRm: { procs: string[]; state: string };
  missing: Cli; portTaken: Cli; tun: Cli; bridgeRun: Cli; unsafeDir: Cli; unsafeDirRuntime: Cli; tmpDir: Cli;
  tmpDirMode: { uid: number; mode: string }; leftover: { helpers: string[]; pasta: string[] };
}

test('rootless networking: pasta and slirp4netns, published ports, the host loopback hidden, cleanup, errors', async (t) => {
  const f = await runRootlessScenario<Facts>(t, 'rootless');
  if (!f) return;

  t.is(f.outbound.code, 0, f.outbound.stderr);
  t.regex(f.outbound.stdout, /^nameserver 169\.254\.1\.1$/m, "resolv.conf points at pasta's DNS forwarder");
  t.regex(f.outbound.stdout, /hello-from-host/, 'outbound TCP reaches the host network');
  t.is(f.tsApi.code, 0, f.tsApi.stderr);
  t.like(JSON.parse(f.tsApi.stdout || '{}'), { exitCode: 0, stdout: 'hello-from-host\n' }, 'run({ network: \'pasta\', ports }) from TypeScript');
  t.is(f.defaultNet.code, 0, f.defaultNet.stderr);
  t.regex(f.defaultNet.stdout, /hello-from-host/, 'the default network of a rootless container is pasta');
  t.regex(f.loopbackHidden.stdout, /rc=(?!0)\d+/, `host loopback hidden by default: ${f.loopbackHidden.stdout}`);
  t.regex(f.loopbackAsked.stdout, /hello-from-host\s+rc=0/, `pasta:--map-gw reaches it: ${f.loopbackAsked.stdout}${f.loopbackAsked.stderr}`);
  t.is(f.ping.code, 0, `ICMP through pasta: ${f.ping.stdout}${f.ping.stderr}`);
  t.is(f.dnsSend.code, 0, f.dnsSend.stderr);
  t.regex(f.dnsGot, /dns-query-from-container/, 'a query to 169.254.1.1:53 reaches the host\'s resolver');
  t.is(f.udp.code, 0, f.udp.stderr);
  t.regex(f.udpLogs, /hello-udp/, '-p 9998:9999/udp');
  t.is(f.slirp.code, 0, f.slirp.stderr);
  t.regex(f.slirp.stdout, /nameserver 10\.0\.2\.3[\s\S]*hello-from-host/, 'slirp4netns: its DNS, and outbound TCP');

  t.is(f.web.code, 0, f.web.stderr);
  t.true(f.fromLoopback.ok, `-p 8080:80 at 127.0.0.1: ${f.fromLoopback.out}`);
  t.true(f.fromAddress.ok, `-p 8080:80 at the host's address: ${f.fromAddress.out}`);
  t.is(f.slirpWeb.code, 0, f.slirpWeb.stderr);
  t.true(f.slirpPublished.ok, `slirp4netns -p 8081:80 at 127.0.0.1: ${f.slirpPublished.out}`);
  t.true(f.whileRunning.procs.includes('pasta') && f.whileRunning.procs.includes('nsbox-runtime'), String(f.whileRunning.procs));
  t.true(f.whileRunning.state);
  t.is(f.rm.code, 0, f.rm.stderr);
  t.deepEqual(f.afterRm, { procs: [], state: '' }, 'nothing left after rm');

  t.true(f.beforeKill.includes('pasta'), String(f.beforeKill));
  t.deepEqual(f.afterMonitorKill, { procs: [], state: '' }, 'nothing left after SIGKILL of the monitor');
  t.false(f.afterKeeperKill.includes('pasta'), 'SIGKILL of the keeper takes pasta along');
  t.regex(f.psLost, /lost$/m);
  t.regex(f.psLost, /Up .* \(network down: pasta killed by SIGKILL\)/, f.psLost);
  t.like(f.inspectRunning, { helper: 'pasta', running: true });
  t.like(f.inspectLost, { helper: 'pasta', running: false, exit: 'killed by SIGKILL' }, 'inspect: networkHelper');
  t.deepEqual(f.afterLostRm, { procs: [], state: '' });

  t.is(f.missing.code, 125);
  t.regex(f.missing.stderr, /^nsbox: find network helper\(pasta\): ENOENT: .*apt-get install passt/m);
  t.is(f.tun.code, 125);
  t.regex(f.tun.stderr, /^nsbox: open tun device\(\/dev\/net\/tun\): EACCES: is mode 0600, .*chmod 0666 \/dev\/net\/tun/m);
  t.is(f.portTaken.code, 125);
  t.regex(f.portTaken.stderr, /^nsbox: start network helper\(\/usr\/bin\/pasta\): ERR_NETWORK_HELPER: pasta exited before it was ready: Failed to bind any port for '-t 127\.0\.0\.1\/8001:80'/m);
  t.is(f.bridgeRun.code, 125);
  t.regex(f.bridgeRun.stderr, /ERR_NETWORK_NOT_FOUND: network "mynet" not found among this user's rootless networks: create it with `nsbox network create mynet`.*--network pasta/);
  t.notRegex(f.bridgeRun.stderr, /EACCES/);
  t.is(f.unsafeDir.code, 125);
  t.regex(f.unsafeDir.stderr, /ERR_UNSAFE_STATE_DIR: it belongs to uid 0, not 65534; refusing/);
  t.is(f.unsafeDirRuntime.code, 125);
  t.regex(f.unsafeDirRuntime.stderr, /check state directory\(\/tmp\/nsbox-65534\): ERR_UNSAFE_STATE_DIR: it belongs to uid 0, not 65534/);
  t.is(f.tmpDir.code, 0, f.tmpDir.stderr);
  t.deepEqual(f.tmpDirMode, { uid: 65534, mode: '700' });
  t.deepEqual(f.leftover, { helpers: [], pasta: [] }, 'no helper directory, no pasta left');
});
