/**
 * Rootless user-defined networks (issue #13): as `nobody`, through the CLI, the TS API and the real
 * runtime, in the throwaway `unshare --net --mount` namespace of scenarios/rootless-bridge.ts: the
 * user's holder, two containers on one network talking by IP and by name, isolation between two
 * networks, egress through pasta, a published port (-p, TCP; UDP in rootless-udp.test.ts), the errors, and cleanup after `network rm` and after SIGKILL of a
 * container's monitor and of the holder; slirp4netns when pasta is missing; /etc/subuid ranges mapped by the holder. CI budget: 45 s (one scenario, ~12 containers; ~12 s here).
 */
import test from 'ava';

import { runRootlessScenario } from './helpers.js';

type Cli = { code: number | null; stdout: string; stderr: string };
interface Facts {
  createRed: Cli; createBlue: Cli; ls: Cli; defaultMtu: Cli; holderProcs: string[]; holderLinks: string[];
  web: Cli; execWeb: Cli; webIp: string; inspectTable: Cli; byName: Cli; byIp: Cli; isolated: Cli; egress: Cli; detachedRm: Cli;
  publishedLoopback: { ok: boolean; out: string }; publishedAddress: { ok: boolean; out: string };
  rmInUse: Cli; unknown: Cli; portTaken: Cli; duplicate: Cli;
  victim: Cli; vethsAroundMonitorKill: { before: number; after: number }; victimLease: unknown[] | null;
  psEgressLost: string; afterEgressLost: Cli;
  tsApi: Cli; rmWeb: Cli; rmRed: Cli; midHolder: string[]; rmBlue: Cli;
  afterRm: { procs: string[]; pidFile: boolean; store: boolean; lsAfter: string };
  createGreen: Cli; lost: Cli; lostIfsBefore: string[]; afterHolderKill: { procs: string[]; ifs: string[] };
  psLost: string; lsStale: Cli; afterStale: { pidFile: boolean; store: boolean }; rmLost: Cli;
  slirpCreate: Cli; slirpProcs: string[]; slirpEgress: Cli; slirpRm: Cli;
  subCreate: Cli; subHolderMap: string[]; subRun: Cli; subRm: Cli;
  leftover: { procs: string[]; helpers: string[]; containers: string[] };
}

test('rootless user-defined networks: holder, bridge, by IP and by name, isolation, egress, published ports, errors, cleanup', async (t) => {
  const f = await runRootlessScenario<Facts>(t, 'rootless-bridge');
  if (!f) return;

  // The networks, and the one holder (namespace process + pasta) with their bridges.
  t.is(f.createRed.code, 0, f.createRed.stderr);
  t.is(f.createBlue.code, 0, f.createBlue.stderr);
  const ls = JSON.parse(f.ls.stdout || '[]') as Array<{ name: string; rootless?: boolean }>;
  t.deepEqual(ls.map((n) => `${n.name}:${n.rootless}`).sort(), ['blue:true', 'red:true']);
  t.like(JSON.parse(f.defaultMtu.stdout || '{}'), { name: 'mtunet', mtu: 65520, rootless: true }, 'rootless networks default to MTU 65520');
  t.deepEqual(f.holderProcs, ['nsbox-runtime', 'nsbox-runtime', 'pasta'], 'holder, its namespace process, pasta');
  t.is(f.holderLinks.filter((l) => l.startsWith('nsbox-')).length, 2, `two bridges in the holder's namespace: ${f.holderLinks}`);

  // Two containers on red talk by name and by IP; blue cannot reach red; egress through pasta.
  t.is(f.web.code, 0, f.web.stderr);
  t.regex(f.webIp, /^10\.90\.1\.\d+$/);
  t.regex(f.inspectTable.stdout, /^red: bridge nsbox-\S+ 10\.90\.1\.1\/24 .*\(in your rootless network namespace\)\n  └─ nsboxv\S+@if\d+ ⇄ eth0@if\d+ 10\.90\.1\.\d+ \S+  web\n/, f.inspectTable.stdout);
  t.deepEqual([f.execWeb.code, f.execWeb.stdout, f.execWeb.stderr], [0, '1\n', ''], 'exec into a container on a rootless network');
  t.like(JSON.parse(f.inspectWeb.stdout || '[{}]')[0]?.networkHelper, { helper: 'holder of red', network: 'red', running: true });
  t.is(f.byName.code, 0, f.byName.stderr);
  t.regex(f.byName.stdout, /^nameserver 169\.254\.1\.1$/m, "resolv.conf points at pasta's DNS forwarder");
  t.regex(f.byName.stdout, /\S+\n$/, 'by name');
  t.is(f.byIp.code, 0, f.byIp.stderr);
  t.regex(f.byIp.stdout, /^\s*0\s+0\s+1\n\S+\n$/, `by IP; uid_map 0 0 1: the container's user namespace is a child of the holder's: ${f.byIp.stdout}`);
  t.regex(f.isolated.stdout, /rc=(?!0)\d+/, `blue does not reach red: ${f.isolated.stdout}${f.isolated.stderr}`);
  t.is(f.egress.code, 0, f.egress.stderr);
  t.regex(f.egress.stdout, /hello-from-host/, 'egress to the fake host through pasta');
  t.is(f.detachedRm.code, 0, f.detachedRm.stderr);
  t.true(f.publishedLoopback.ok && f.publishedLoopback.out.trim().length > 0, `-p 8080:80 at 127.0.0.1: ${f.publishedLoopback.out}`);
  t.true(f.publishedAddress.ok && f.publishedAddress.out.trim().length > 0, `-p 8080:80 at the host's address: ${f.publishedAddress.out}`);

  // Errors.
  t.is(f.rmInUse.code, 125);
  t.regex(f.rmInUse.stderr, /^nsbox: remove network\(red\): EBUSY: network "red" is in use by web/m);
  t.is(f.unknown.code, 125);
  t.regex(f.unknown.stderr, /ERR_NETWORK_NOT_FOUND: network "nonet" not found .*nsbox network create nonet/);
  t.is(f.portTaken.code, 125);
  t.regex(f.portTaken.stderr, /publish port\(0\.0\.0\.0:8080\): EADDRINUSE: cannot listen on 0\.0\.0\.0:8080/);
  t.is(f.duplicate.code, 125);
  t.regex(f.duplicate.stderr, /EEXIST: network "red" already exists/);

  // SIGKILL of a container's monitor: its veth and its lease go.
  t.is(f.victim.code, 0, f.victim.stderr);
  t.is(f.vethsAroundMonitorKill.after, f.vethsAroundMonitorKill.before - 1, JSON.stringify(f.vethsAroundMonitorKill));
  t.deepEqual(f.victimLease, [], 'the dead container\'s lease is released');

  // The holder's pasta SIGKILLed: egress gone, the network still joins its containers.
  t.regex(f.psEgressLost, /Up .* \(egress down: pasta killed by SIGKILL\)\s+\d+\s+web/, f.psEgressLost);
  t.is(f.afterEgressLost.code, 0, `containers still talk: ${f.afterEgressLost.stderr}`);

  // TypeScript: createNetwork, listNetworks, run on it, removeNetwork.
  t.is(f.tsApi.code, 0, f.tsApi.stderr);
  const ts = JSON.parse(f.tsApi.stdout || '{}') as { names?: string[]; r?: { exitCode: number; stdout: string } };
  t.true(ts.names?.includes('tsnet:rootless'), String(ts.names));
  t.like(ts.r, { exitCode: 0, stdout: '1\n' }, 'eth0 has its address');

  // network rm: the last one takes the holder along.
  t.is(f.rmWeb.code, 0, f.rmWeb.stderr);
  t.is(f.rmRed.code, 0, f.rmRed.stderr);
  t.deepEqual(f.midHolder, ['nsbox-runtime', 'nsbox-runtime'], 'the holder stays while blue exists (its pasta was killed above)');
  t.is(f.rmBlue.code, 0, f.rmBlue.stderr);
  t.deepEqual(f.afterRm, { procs: [], pidFile: false, store: false, lsAfter: '' }, 'nothing left after the last network rm');

  // SIGKILL of the holder: namespace process and pasta go, the container loses eth0, ps says so,
  // the next command forgets the stale state.
  t.is(f.createGreen.code, 0, f.createGreen.stderr);
  t.is(f.lost.code, 0, f.lost.stderr);
  t.deepEqual(f.lostIfsBefore, ['eth0', 'lo']);
  t.deepEqual(f.afterHolderKill, { procs: [], ifs: ['lo'] });
  t.regex(f.psLost, /Up .* \(network down: holder of green gone\)/, f.psLost);
  t.is(f.lsStale.code, 0, f.lsStale.stderr);
  t.is(f.lsStale.stdout, '');
  t.deepEqual(f.afterStale, { pidFile: false, store: false });
  t.is(f.rmLost.code, 0, f.rmLost.stderr);
  // Without pasta: slirp4netns is the holder's egress helper.
  t.is(f.slirpCreate.code, 0, f.slirpCreate.stderr);
  t.deepEqual(f.slirpProcs, ['nsbox-runtime', 'nsbox-runtime', 'slirp4netns']);
  t.is(f.slirpEgress.code, 0, f.slirpEgress.stderr);
  t.regex(f.slirpEgress.stdout, /nameserver 10\.0\.2\.3[\s\S]*hello-from-host/, 'slirp4netns: its DNS, and egress');
  t.is(f.slirpRm.code, 0, f.slirpRm.stderr);
  // /etc/subuid ranges: mapped in the holder's user namespace, usable by a container made inside.
  t.is(f.subCreate.code, 0, f.subCreate.stderr);
  t.deepEqual(f.subHolderMap, ['0 65534 1', '1 200000 65536']);
  t.is(f.subRun.code, 0, f.subRun.stderr);
  t.regex(f.subRun.stdout, /^\s*0\s+0\s+1\n\s*1\s+1\s+65536\n1\n$/, f.subRun.stdout);
  t.is(f.subRm.code, 0, f.subRm.stderr);
  t.deepEqual(f.leftover, { procs: [], helpers: [], containers: [] }, 'no process, helper status or /etc files left');
});
