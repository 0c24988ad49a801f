/**
 * Rootless user-defined networks (issue #13) as `nobody`, in the throwaway namespace playing the
 * host (built as scenarios/rootless.ts builds it: h0 192.0.2.1 + 192.0.2.9, a 0666 tun node on a
 * tmpfs over /dev/net of this mount namespace, nobody's XDG_RUNTIME_DIR on a tmpfs). The user's
 * holder, its bridges, two containers talking by IP and by name, isolation between two networks,
 * egress through pasta, the errors, and cleanup after `network rm` and after SIGKILL of a
 * container's monitor and of the holder.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { report, sh, until } from './common.js';
import { ofThisScenario } from './rootless-host.js';

const CLI = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));
const LIB = fileURLToPath(new URL('../../../ts/dist/index.js', import.meta.url));
const NOBODY = 65534;
const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

for (const c of [
  'ip link set lo up', 'ip link add h0 type veth peer name h1', 'ip addr add 192.0.2.1/24 dev h0', 'ip addr add 192.0.2.9/24 dev h0',
  'ip addr add 192.0.2.254/24 dev h1', 'ip link set h0 up', 'ip link set h1 up', 'ip route add default via 192.0.2.254 dev h0',
  'mount -t tmpfs -o mode=755 nsbox-test-tun /dev/net', 'mknod -m 666 /dev/net/tun c 10 200',
  'mount -t tmpfs -o mode=755 nsbox-test-xdg /mnt',
]) execFileSync('sh', ['-c', c]);
const XDG = '/mnt/xdg';
const ROOT = `${XDG}/nsbox`;
mkdirSync(XDG, { mode: 0o700 });
chownSync(XDG, NOBODY, NOBODY);
mkdirSync('/mnt/www');
writeFileSync('/mnt/www/index.html', 'hello-from-host\n');
const server = spawn('busybox', ['httpd', '-f', '-p', '192.0.2.9:8000', '-h', '/mnt/www']);
process.on('exit', () => server.kill('SIGKILL'));
await until(() => sh('timeout 2 wget -qO- http://192.0.2.9:8000/').ok);

type Cli = { code: number | null; stdout: string; stderr: string };
const ENV = { PATH: process.env.PATH!, HOME: '/nonexistent', XDG_RUNTIME_DIR: XDG };
function cli(args: string[], env: Record<string, string> = {}): Cli {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 30_000, cwd: '/', env: { ...ENV, ...env } });
  process.stderr.write(`nsbox ${args.slice(0, 4).join(' ')}: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms\n`);
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Live (not zombie) processes whose command line contains `tag`. */
function live(tag: string): Array<{ pid: number; name: string; ppid: number }> {
  const out: Array<{ pid: number; name: string; ppid: number }> = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (cmd.includes(tag) && stat[0] !== 'Z' && Number(p) !== process.pid) out.push({ pid: Number(p), name: cmd.split('\0')[0]!.split('/').pop()!, ppid: Number(stat[1]) });
    } catch {
      /* gone */
    }
  }
  return out;
}
// Only this scenario's (ofThisScenario): other test files' scenarios run pasta at the same time.
// The watchers (rootless-net watch) of this scenario only: rootless-udp.ts runs its own meanwhile.
const ownRootlessNet = () => live('rootless-net').filter((p) => ofThisScenario(p.pid));
const holderProcs = () => [...live('net-holder'), ...live('run/netns-helper/')].filter((p) => ofThisScenario(p.pid)).map((p) => p.name).sort();
/** pid of the live process whose whole command line is `cmd` (pgrep -x -f), or 0. */
const pidOf = (cmd: string) => Number(sh(`pgrep -x -f '${cmd}' -n`).out.trim() || 0);
const holderInfo = () => (existsSync(`${ROOT}/run/netns.pid`) ? (JSON.parse(readFileSync(`${ROOT}/run/netns.pid`, 'utf8')) as { holderPid: number; nsPid: number }) : null);
/** Interfaces of the holder's network namespace, seen by root through nsenter. */
const holderLinks = (nsPid: number) => sh(`nsenter -t ${nsPid} -U -n --preserve-credentials ip -o link show`).out.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]).filter((x): x is string => !!x);
const facts: Record<string, unknown> = {};

// 1. Two networks as nobody: the first starts the holder (and its pasta).
facts.createRed = cli(['network', 'create', 'red', '--subnet', '10.90.1.0/24']);
facts.createBlue = cli(['network', 'create', 'blue', '--subnet', '10.90.2.0/24']);
facts.ls = cli(['network', 'ls', '--format', 'json']);
facts.defaultMtu = cli(['network', 'create', 'mtunet', '--format', 'json']);
cli(['network', 'rm', 'mtunet']);
facts.holderProcs = holderProcs();
const h = holderInfo();
facts.holderLinks = h ? holderLinks(h.nsPid) : [];

// 2. A server on red, a client on red (by name and by IP), a client on blue (isolated).
facts.web = cli(['run', '-d', '--name', 'web', '--network', 'red', '-p', '8080:80', '--', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
// Its published port, from the host's loopback and the host's address (the watcher forwards it).
await until(() => sh('timeout 2 wget -qO- http://127.0.0.1:8080/hostname').ok);
facts.publishedLoopback = sh('timeout 3 wget -qO- http://127.0.0.1:8080/hostname');
facts.publishedAddress = sh('timeout 3 wget -qO- http://192.0.2.1:8080/hostname');
facts.inspectWeb = cli(['inspect', 'web']);
// exec joins a user namespace that is now a grandchild of the host's: the user still may.
facts.execWeb = cli(['exec', 'web', 'sh', '-c', 'ip -o -4 addr show eth0 | wc -l']);
const webIp = (JSON.parse(cli(['network', 'inspect', 'red']).stdout || '[{}]') as Array<{ endpoints?: Array<{ ip: string }> }>)[0]?.endpoints?.[0]?.ip ?? 'none';
facts.webIp = webIp;
facts.inspectTable = cli(['network', 'inspect', 'red', '--format', 'table']);
facts.byName = cli(['run', '--rm', '--network', 'red', '--', 'sh', '-c', 'cat /etc/resolv.conf; timeout 5 wget -qO- http://web/hostname']);
facts.byIp = cli(['run', '--rm', '--network', 'red', '--', 'sh', '-c', `cat /proc/self/uid_map; timeout 5 wget -qO- http://${webIp}/hostname`]);
facts.isolated = cli(['run', '--rm', '--network', 'blue', '--', 'sh', '-c', `timeout 3 wget -qO- http://${webIp}/hostname; echo rc=$?`]);
facts.egress = cli(['run', '--rm', '--network', 'blue', '--', 'timeout', '5', 'wget', '-qO-', 'http://192.0.2.9:8000/']);
// A detached --rm container: nobody waits for it, its watcher cleans up (checked at the end).
facts.detachedRm = cli(['run', '-d', '--rm', '--network', 'blue', '--', 'true']);

// 3. Errors: a network in use, an unknown network, a published port taken (UDP: rootless-bridge-udp.ts).
facts.rmInUse = cli(['network', 'rm', 'red']);
facts.unknown = cli(['run', '--rm', '--network', 'nonet', '--', 'true']);
facts.portTaken = cli(['run', '--rm', '--network', 'blue', '-p', '8080:80', '--', 'true']);
facts.duplicate = cli(['network', 'create', 'red']);

// 4. SIGKILL of a container's monitor: its veth goes with its namespace, its lease at the next operation.
const victim = cli(['run', '-d', '--name', 'victim', '--network', 'red', '--', 'sleep', '3107']);
facts.victim = victim;
const ctr = pidOf('sleep 3107');
const monitor = ctr ? Number(readFileSync(`/proc/${ctr}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) : 0;
const veths = () => (h ? holderLinks(h.nsPid).filter((l) => l.startsWith('nsboxv')).length : -1);
const before = veths();
if (monitor) process.kill(monitor, 'SIGKILL');
await until(() => pidOf('sleep 3107') === 0 && veths() < before);
const after = veths();
facts.vethsAroundMonitorKill = { before, after };
const red = JSON.parse(cli(['network', 'inspect', 'red']).stdout || '[{}]') as Array<{ endpoints?: Array<{ container: string; alive: boolean }> }>;
facts.victimLease = red[0]?.endpoints?.filter((e) => e.container === 'victim') ?? null;
cli(['rm', '-f', 'victim']);

// 4b. The holder's pasta dies: the containers keep their network, lose egress, and ps says so.
const holderPasta = live('run/netns-helper/').find((p) => p.name === 'pasta' && ofThisScenario(p.pid));
if (holderPasta) process.kill(holderPasta.pid, 'SIGKILL');
await until(() => cli(['ps']).stdout.includes('egress down'));
facts.psEgressLost = cli(['ps']).stdout;
facts.afterEgressLost = cli(['run', '--rm', '--network', 'red', '--', 'timeout', '5', 'wget', '-qO-', `http://${webIp}/hostname`]);

// 5. The same from TypeScript.
const tsScript = `const { createNetwork, listNetworks, removeNetwork, run } = await import(${JSON.stringify(LIB)});
await createNetwork({ name: 'tsnet' });
const names = (await listNetworks()).map((n) => n.name + (n.rootless ? ':rootless' : ''));
const r = await run({ command: ['sh', '-c', 'ip -o -4 addr show eth0 | wc -l'], network: 'tsnet' });
await removeNetwork('tsnet');
console.log(JSON.stringify({ names, r }));`;
const ts = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), process.execPath, '--input-type=module', '-e', tsScript], { encoding: 'utf8', timeout: 30_000, cwd: '/', env: ENV });
facts.tsApi = { code: ts.status, stdout: ts.stdout, stderr: ts.stderr };

// 6. Cleanup after network rm: the last network takes the holder and pasta along.
facts.rmWeb = cli(['rm', '-f', 'web']);
facts.rmRed = cli(['network', 'rm', 'red']);
facts.midHolder = holderProcs();
facts.rmBlue = cli(['network', 'rm', 'blue']);
await until(() => holderProcs().length === 0);
facts.afterRm = { procs: holderProcs(), pidFile: existsSync(`${ROOT}/run/netns.pid`), store: existsSync(`${ROOT}/run/rnet`), lsAfter: cli(['network', 'ls', '-q']).stdout };

// 7. SIGKILL of the holder: its namespace process and pasta die with it, the container loses eth0,
// ps says so, and the next command forgets the stale state.
facts.createGreen = cli(['network', 'create', 'green']);
facts.lost = cli(['run', '-d', '--name', 'lost', '--network', 'green', '--', 'sleep', '3109']);
const lostPid = pidOf('sleep 3109');
const ifs = () => { try { return readFileSync(`/proc/${lostPid}/net/dev`, 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort(); } catch { return []; } };
facts.lostIfsBefore = ifs();
const g = holderInfo();
if (g) process.kill(g.holderPid, 'SIGKILL');
await until(() => holderProcs().length === 0 && !ifs().includes('eth0'));
facts.afterHolderKill = { procs: holderProcs(), ifs: ifs() };
facts.psLost = cli(['ps']).stdout;
facts.lsStale = cli(['network', 'ls', '-q']);
facts.afterStale = { pidFile: existsSync(`${ROOT}/run/netns.pid`), store: existsSync(`${ROOT}/run/rnet`) };
facts.rmLost = cli(['rm', '-f', 'lost']);

// 8. Without pasta, the holder's egress helper is slirp4netns.
const NOPASTA = { NSBOX_PASTA: '/nonexistent/pasta' };
facts.slirpCreate = cli(['network', 'create', 'sl'], NOPASTA);
facts.slirpProcs = holderProcs();
facts.slirpEgress = cli(['run', '--rm', '--network', 'sl', '--', 'sh', '-c', 'cat /etc/resolv.conf; timeout 5 wget -qO- http://192.0.2.9:8000/'], NOPASTA);
facts.slirpRm = cli(['network', 'rm', 'sl'], NOPASTA);
await until(() => holderProcs().length === 0);

// 9. Subordinate ids (/etc/subuid, /etc/subgid: an overlay over /etc of this mount namespace only):
// the holder's user namespace maps them too, so a container made inside may map them.
execFileSync('sh', ['-c', 'mkdir -p /mnt/etc/upper /mnt/etc/work && mount -t overlay nsbox-test-etc -o lowerdir=/etc,upperdir=/mnt/etc/upper,workdir=/mnt/etc/work /etc && echo nobody:200000:65536 > /etc/subuid && echo nobody:200000:65536 > /etc/subgid']);
facts.subCreate = cli(['network', 'create', 'sub']);
const sub = holderInfo();
facts.subHolderMap = sub ? readFileSync(`/proc/${sub.nsPid}/uid_map`, 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')) : [];
facts.subRun = cli(['run', '--rm', '--network', 'sub', '--uidmap', '0:65534:1', '--uidmap', '1:200000:65536', '--gidmap', '0:65534:1', '--gidmap', '1:200000:65536', '--', 'sh', '-c', 'cat /proc/self/uid_map; ip -o -4 addr show eth0 | wc -l']);
facts.subRm = cli(['network', 'rm', 'sub']);
await until(() => pidOf('sleep 3109') === 0 && ownRootlessNet().length === 0 && holderProcs().length === 0);
facts.leftover = {
  procs: [...holderProcs(), ...ownRootlessNet().map((p) => p.name), ...live('sleep\x00310').map((p) => p.name)],
  helpers: existsSync(`${ROOT}/run/helpers`) ? readdirSync(`${ROOT}/run/helpers`) : [],
  containers: existsSync(`${ROOT}/run/containers`) ? readdirSync(`${ROOT}/run/containers`) : [],
};
server.kill();
report(facts);
