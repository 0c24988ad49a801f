/**
 * Rootless networking (issue #13) as `nobody`, in the throwaway namespace playing the host
 * (rootless-host.ts says how it is built).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { report, sh, until } from './common.js';
import { AS_NOBODY, cli, ofThisScenario, liveProcs, NOBODY, setupHost, XDG } from './rootless-host.js';

setupHost();
mkdirSync('/mnt/www');
writeFileSync('/mnt/www/index.html', 'hello-from-host\n');

// The host's servers: one on its second address, one on its loopback only.
const servers: ChildProcess[] = [spawn('busybox', ['httpd', '-f', '-p', '192.0.2.9:8000', '-h', '/mnt/www']), spawn('busybox', ['httpd', '-f', '-p', '127.0.0.1:8001', '-h', '/mnt/www'])];
// Whatever happens below, the servers go with this process (they would outlive the namespace).
process.on('exit', () => servers.forEach((s) => s.kill('SIGKILL')));
await until(() => sh('timeout 2 wget -qO- http://192.0.2.9:8000/').ok && sh('timeout 2 wget -qO- http://127.0.0.1:8001/').ok);

/** Live (not zombie: this machine's PID 1 reaps nothing) processes whose command line names `tag`. */
function live(tag: string): string[] {
  return liveProcs(tag).map((p) => p.name);
}
const state = (id: string) => sh(`find ${XDG}/nsbox/run -name '${id}*'`).out.trim();
const facts: Record<string, unknown> = {};

// 1. Outbound TCP, and the resolv.conf pointing at pasta's DNS forwarder.
facts.outbound = cli(['run', '--rm', '--network', 'pasta', '--', 'sh', '-c', 'cat /etc/resolv.conf; wget -qO- http://192.0.2.9:8000/']);
// The same from TypeScript: run({ network: 'pasta', ports }) as nobody.
const LIB = fileURLToPath(new URL('../../../ts/dist/index.js', import.meta.url));
const tsScript = `const { run } = await import(${JSON.stringify(LIB)});
const r = await run({ command: ['wget', '-qO-', 'http://192.0.2.9:8000/'], network: 'pasta', ports: [{ hostPort: 8090, containerPort: 80 }] });
console.log(JSON.stringify(r));`;
const ts = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, '--input-type=module', '-e', tsScript], {
  encoding: 'utf8', timeout: 30_000, cwd: '/', env: { PATH: process.env.PATH!, HOME: '/nonexistent', XDG_RUNTIME_DIR: XDG },
});
facts.tsApi = { code: ts.status, stdout: ts.stdout, stderr: ts.stderr };
// The default network of a rootless container is the helper (pasta here).
facts.defaultNet = cli(['run', '--rm', '--network', 'nsbox', '--', 'wget', '-qO-', 'http://192.0.2.9:8000/']);
// 2. The host's loopback: not reachable through the gateway by default; reachable when asked.
const lo = ['sh', '-c', 'timeout 5 wget -qO- http://192.0.2.254:8001/; echo rc=$?'];
facts.loopbackHidden = cli(['run', '--rm', '--network', 'pasta', '--', ...lo]);
facts.loopbackAsked = cli(['run', '--rm', '--network', 'pasta:--map-gw', '--', ...lo]);
// ICMP through pasta's ping sockets; DNS: a query sent to 169.254.1.1 reaches the host's resolver.
facts.ping = cli(['run', '--rm', '--network', 'pasta', '--', 'ping', '-c', '1', '-W', '3', '192.0.2.9']);
const dns = spawn('socat', ['-u', 'UDP-RECVFROM:53,bind=192.0.2.9', 'STDOUT']);
let dnsGot = '';
dns.stdout.setEncoding('utf8').on('data', (d: string) => (dnsGot += d));
servers.push(dns);
facts.dnsSend = cli(['run', '--rm', '--network', 'pasta', '--', 'sh', '-c', 'echo dns-query-from-container | socat -u - UDP:169.254.1.1:53']);
await until(() => dnsGot.includes('dns-query'));
facts.dnsGot = dnsGot;
// A published UDP port: what the host sends to 127.0.0.1:9998 arrives at the container's 9999.
const u = cli(['run', '-d', '--name', 'udp', '-p', '9998:9999/udp', '--network', 'pasta', '--', 'socat', '-u', 'UDP-RECV:9999', 'STDOUT']);
facts.udp = u;
await until(() => {
  sh('echo hello-udp | socat -u - UDP:127.0.0.1:9998');
  return cli(['logs', 'udp']).stdout.includes('hello-udp');
});
facts.udpLogs = cli(['logs', 'udp']).stdout;
cli(['rm', '-f', 'udp']);
// slirp4netns, chosen by name.
facts.slirp = cli(['run', '--rm', '--network', 'slirp4netns', '--', 'sh', '-c', 'cat /etc/resolv.conf; wget -qO- http://192.0.2.9:8000/']);

// 3. A published port: busybox httpd in the container, reached from the host's loopback and address.
const web = cli(['run', '-d', '--name', 'web', '-p', '8080:80', '--network', 'pasta', '--', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
const webId = web.stdout.trim();
facts.web = web;
await until(() => sh('timeout 2 wget -qO- http://127.0.0.1:8080/hostname').ok);
facts.fromLoopback = sh('timeout 3 wget -qO- http://127.0.0.1:8080/hostname');
facts.fromAddress = sh('timeout 3 wget -qO- http://192.0.2.1:8080/hostname');
facts.whileRunning = { procs: live(webId).sort(), state: state(webId) !== '' };
facts.rm = cli(['rm', '-f', 'web']);
await until(() => live(webId).length === 0);
facts.afterRm = { procs: live(webId), state: state(webId) };

// slirp4netns publishes through its API socket.
facts.slirpWeb = cli(['run', '-d', '--name', 'sweb', '-p', '8081:80', '--network', 'slirp4netns', '--', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
await until(() => sh('timeout 2 wget -qO- http://127.0.0.1:8081/hostname').ok);
facts.slirpPublished = sh('timeout 3 wget -qO- http://127.0.0.1:8081/hostname');
cli(['rm', '-f', 'sweb']);

// 4. SIGKILL of the monitor: the container dies with it (PDEATHSIG), and so do keeper and pasta.
const k = cli(['run', '-d', '--name', 'victim', '--network', 'pasta', '--', 'sleep', '300']);
const kId = k.stdout.trim();
const ctrPid = Number(sh(`pgrep -f -x 'sleep 300' -n`).out.trim());
const monitor = Number(readFileSync(`/proc/${ctrPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
facts.beforeKill = live(kId).sort();
process.kill(monitor, 'SIGKILL');
await until(() => live(kId).length === 0);
facts.afterMonitorKill = { procs: live(kId), state: state(kId) };
cli(['rm', '-f', 'victim']);

// 5. SIGKILL of the keeper: its helper goes too (PDEATHSIG), the container sees its network go.
const k2 = cli(['run', '-d', '--name', 'orphan', '--network', 'pasta', '--', 'sleep', '301']);
const k2Id = k2.stdout.trim();
facts.k2 = k2;
const keeper = liveProcs(k2Id).find((p) => p.args.includes('net-helper'));
if (keeper) process.kill(keeper.pid, 'SIGKILL');
await until(() => !live(k2Id).includes('pasta'));
facts.afterKeeperKill = live(k2Id).sort();
cli(['rm', '-f', 'orphan']);

// 5b. SIGKILL of pasta itself: the container lives on without its network, and ps says so.
const k3 = cli(['run', '-d', '--name', 'lost', '--network', 'pasta', '--', 'sleep', '302']);
facts.inspectRunning = (JSON.parse(cli(['inspect', 'lost']).stdout || '[{}]') as Array<Record<string, unknown>>)[0]?.networkHelper ?? null;
const pasta3 = liveProcs(k3.stdout.trim()).find((p) => p.name === 'pasta');
if (pasta3) process.kill(pasta3.pid, 'SIGKILL');
await until(() => cli(['ps']).stdout.includes('network down'));
facts.psLost = cli(['ps']).stdout;
facts.inspectLost = (JSON.parse(cli(['inspect', 'lost']).stdout || '[{}]') as Array<Record<string, unknown>>)[0]?.networkHelper ?? null;
cli(['rm', '-f', 'lost']);
facts.afterLostRm = { procs: live(k3.stdout.trim()), state: state(k3.stdout.trim()) };

// 6. Errors: a missing helper, a tun device the user cannot open, a bridge network rootless.
facts.missing = cli(['run', '--rm', '--network', 'pasta', '--', 'true'], { NSBOX_PASTA: '/nonexistent/pasta' });
chmodSync('/dev/net/tun', 0o600);
facts.tun = cli(['run', '--rm', '--network', 'pasta', '--', 'true']);
chmodSync('/dev/net/tun', 0o666);
// A published port the host already uses (the loopback server's).
facts.portTaken = cli(['run', '--rm', '-p', '127.0.0.1:8001:80', '--network', 'pasta', '--', 'true']);
// A user-defined network that does not exist (rootless ones: tests/network/rootless-bridge.test.ts).
facts.bridgeRun = cli(['run', '--rm', '--network', 'mynet', '--', 'true']);

// 7. No XDG_RUNTIME_DIR: /tmp/nsbox-UID, refused when someone else made it first, else made 0700.
mkdirSync(`/tmp/nsbox-${NOBODY}`, { mode: 0o777 });
facts.unsafeDir = cli(['run', '--rm', '--network', 'pasta', '--', 'true'], { XDG_RUNTIME_DIR: '' });
// The runtime refuses it too, for a detached container without a network (its own state root).
facts.unsafeDirRuntime = cli(['run', '-d', '--rm', '--', 'true'], { XDG_RUNTIME_DIR: '' });
rmSync(`/tmp/nsbox-${NOBODY}`, { recursive: true });
facts.tmpDir = cli(['run', '--rm', '--network', 'pasta', '--', 'wget', '-qO-', 'http://192.0.2.9:8000/'], { XDG_RUNTIME_DIR: '' });
const st = statSync(`/tmp/nsbox-${NOBODY}`);
facts.tmpDirMode = { uid: st.uid, mode: (st.mode & 0o777).toString(8) };

await until(() => live('pasta').length === 0, 3000);
facts.leftover = { helpers: [...readdirSync(`${XDG}/nsbox/run/helpers`), ...readdirSync(`/tmp/nsbox-${NOBODY}/run/helpers`)], pasta: liveProcs('pasta').filter((p) => ofThisScenario(p.pid)).map((p) => p.args.replace(/\0/g, ' ').slice(0, 300)) };
for (const s of servers) s.kill();
report(facts);
