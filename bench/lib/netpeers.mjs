// The network section's peers and extras: CNI plugins and netavark driven the way their callers
// drive them, iperf3 throughput, and the rules each leaves behind. Everything here runs inside the
// section's throwaway namespace (bench/network.mjs), and `leftovers` nests a fresh one per peer.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
export const CNI_PATH = '/usr/lib/cni';
export const NETAVARK = '/usr/lib/podman/netavark';
const NV_NETWORK_ID = '53ce4390f2adb1681eb1a90ec8b48c49c015e0a8d336c197637e7f65e365fa9e';

function ms(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function sh(cmd) {
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
}

/** One CNI plugin call per the spec: config on stdin, parameters in the environment. */
export function cniExec(plugin, command, conf, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(path.join(CNI_PATH, plugin), [], {
    input: JSON.stringify(conf), encoding: 'utf8',
    env: { ...process.env, CNI_COMMAND: command, CNI_PATH, CNI_IFNAME: 'eth0', ...env },
  });
  const t = ms(t0);
  if (r.status !== 0) throw new Error(`CNI ${plugin} ${command} failed: ${r.stdout} ${r.stderr}`);
  return { ms: t, result: r.stdout ? JSON.parse(r.stdout) : null };
}

/**
 * netavark as podman drives it: `netavark --config DIR setup|teardown NETNS` with the network
 * options JSON on stdin. A keeper container stays attached (netavark deletes the bridge with the
 * network's last container), so each cycle adds and removes one endpoint, as nsbox and CNI do.
 */
export function netavark({ root, name, bridge, subnet, keeper, port }) {
  const dir = path.join(root, `nv-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  const conf = (id, ip, withPort) => JSON.stringify({
    container_id: id, container_name: id,
    networks: { [name]: { interface_name: 'eth0', static_ips: [ip] } },
    network_info: {
      [name]: {
        dns_enabled: false, driver: 'bridge', id: NV_NETWORK_ID, internal: false, ipv6_enabled: false, name,
        network_interface: bridge, subnets: [{ gateway: `${subnet}.1`, subnet: `${subnet}.0/24` }],
      },
    },
    ...(withPort ? { port_mappings: [{ host_ip: '', container_port: 80, host_port: port, range: 1, protocol: 'tcp' }] } : {}),
  });
  const exec = (cmd, netns, input) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(NETAVARK, ['--config', dir, cmd, netns], { input, encoding: 'utf8' });
    const t = ms(t0);
    if (r.status !== 0) throw new Error(`netavark ${cmd} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return t;
  };
  const keeperNs = keeper ? `/proc/${keeper}/ns/net` : null;
  const keeperConf = conf(`keeper${name}`, `${subnet}.3`, false);
  if (keeperNs) exec('setup', keeperNs, keeperConf);
  return {
    cycle(netns, i) {
      const c = conf(`bench${name}${i}`, `${subnet}.2`, port !== undefined);
      return { setup: exec('setup', netns, c), teardown: exec('teardown', netns, c) };
    },
    close() {
      if (keeperNs) exec('teardown', keeperNs, keeperConf);
    },
  };
}

/** Rule lines in `nft list ruleset` (iptables-nft rules included), not the tables/chains/sets. */
export function countRules(text) {
  return text.split('\n').map((l) => l.trim())
    .filter((l) => l && !/^(table |chain |set |map |type |policy |elements |flags |\}|#)/.test(l)).length;
}

/** A process alone in a new network namespace: the bench's stand-in for a container. */
export async function netnsChild() {
  const child = spawn('unshare', ['--net', '--', 'sleep', '3600'], { stdio: 'ignore' });
  const own = fs.readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 500; i++) {
    try {
      if (fs.readlinkSync(`/proc/${child.pid}/ns/net`) !== own) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 5));
  }
  return child;
}

/** One peer, in the fresh namespace this process runs in: a container with one published port, then teardown of everything. */
async function leftoverOf(peer, repo, root) {
  sh('ip link set lo up');
  const box = await netnsChild();
  const netns = `/proc/${box.pid}/ns/net`;
  if (peer === 'nsbox') {
    process.env.NSBOX_ROOT = fs.mkdtempSync(path.join(root, 'left-'));
    const nsbox = await import(pathToFileURL(path.join(repo, 'ts/dist/index.js')).href);
    await nsbox.createNetwork({ name: 'left', subnet: '10.215.0.0/24' });
    const ep = await nsbox.attachContainer({ netns, ownerPid: box.pid, network: 'left', ports: ['8080:80'] });
    await nsbox.detachContainer({ endpoint: ep.id });
    await nsbox.removeNetwork('left');
  } else if (peer === 'CNI bridge(ipMasq)+portmap') {
    const net = { cniVersion: '1.0.0', name: 'cnileft', type: 'bridge', bridge: 'cnil0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', subnet: '10.216.0.0/24', dataDir: path.join(root, 'cni-left') } };
    const pm = { cniVersion: '1.0.0', name: 'cnileft', type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } };
    const env = { CNI_CONTAINERID: 'left', CNI_NETNS: netns };
    const add = cniExec('bridge', 'ADD', net, env);
    cniExec('portmap', 'ADD', { ...pm, prevResult: add.result }, env);
    cniExec('portmap', 'DEL', { ...pm, prevResult: add.result }, env);
    cniExec('bridge', 'DEL', { ...net, prevResult: add.result }, env);
  } else {
    const nv = netavark({ root: fs.mkdtempSync(path.join(root, 'left-')), name: 'nvleft', bridge: 'nvl0', subnet: '10.217.0', port: 8080 });
    nv.cycle(netns, 0);
  }
  box.kill('SIGKILL');
  // The full path: under `npm run`, node_modules/.bin/nft (an unrelated package) comes first in PATH.
  const r = sh('/usr/sbin/nft list ruleset');
  if (r.status !== 0) throw new Error(`nft list ruleset failed: ${r.stderr}`);
  const text = r.stdout;
  return `${countRules(text)} rules in ${text.split('\n').filter((l) => /^\s*chain /.test(l)).length} chains`;
}

/** [peer, rules left] for each peer installed, each in a namespace of its own. */
export function leftovers(repo, root) {
  const peers = ['nsbox', 'CNI bridge(ipMasq)+portmap', ...(fs.existsSync(NETAVARK) ? ['netavark -p'] : [])];
  return peers.map((p) => {
    const r = spawnSync('unshare', ['--net', '--', process.execPath, SELF, 'leftover', p, repo, root], { encoding: 'utf8' });
    return [p, r.status === 0 ? r.stdout.trim().split('\n').pop() : `failed (${r.stderr.trim().split('\n').pop()})`];
  });
}

async function listening(netns, port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  for (let i = 0; i < 200; i++) {
    const text = netns ? sh(`nsenter --net=${netns} cat /proc/net/tcp`).stdout : fs.readFileSync('/proc/net/tcp', 'utf8');
    if (text.includes(hex)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One bounded iperf3 run (one TCP stream, 3 s): Gbit/s received. */
async function iperf(serverNs, clientNs, addr) {
  const on = (ns) => (ns ? ['nsenter', `--net=${ns}`, '--'] : []);
  const [cmd, ...args] = [...on(serverNs), 'iperf3', '-s', '-1', '-p', '5201'];
  const srv = spawn(cmd, args, { stdio: 'ignore' });
  await listening(serverNs, 5201);
  const [ccmd, ...cargs] = [...on(clientNs), 'iperf3', '-c', addr, '-p', '5201', '-t', '3', '-J'];
  const r = spawnSync(ccmd, cargs, { encoding: 'utf8', timeout: 20_000 });
  srv.kill();
  try {
    return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
  } catch {
    return NaN;
  }
}

/** Container↔container over an nsbox bridge against host loopback, alternating, best of two each. */
export async function throughput(nsbox) {
  if (sh('command -v iperf3').status !== 0) return null;
  const a = await netnsChild();
  const b = await netnsChild();
  const [na, nb] = [a, b].map((x) => `/proc/${x.pid}/ns/net`);
  const ea = await nsbox.attachContainer({ netns: na, ownerPid: a.pid, network: 'bench' });
  const eb = await nsbox.attachContainer({ netns: nb, ownerPid: b.pid, network: 'bench' });
  const bridge = [];
  const lo = [];
  for (let i = 0; i < 2; i++) {
    bridge.push(await iperf(na, nb, ea.ip));
    lo.push(await iperf(null, null, '127.0.0.1'));
  }
  await nsbox.detachContainer({ endpoint: ea.id });
  await nsbox.detachContainer({ endpoint: eb.id });
  a.kill('SIGKILL');
  b.kill('SIGKILL');
  const best = (v) => Math.max(...v.filter(Number.isFinite));
  return `iperf3 TCP, one stream, 3 s, best of 2: container↔container over the bridge ${best(bridge).toFixed(1)} Gbit/s, host loopback ${best(lo).toFixed(1)} Gbit/s (bridge/loopback ${(best(bridge) / best(lo)).toFixed(2)}; all runs: bridge ${bridge.map((x) => x.toFixed(1)).join(', ')}; loopback ${lo.map((x) => x.toFixed(1)).join(', ')})`;
}

if (process.argv[2] === 'leftover') {
  leftoverOf(process.argv[3], process.argv[4], process.argv[5]).then((n) => {
    process.stdout.write(`${n}\n`);
    process.exit(0);
  }, (e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
  });
}
