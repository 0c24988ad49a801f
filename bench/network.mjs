// Section "network" (issue 3's benchmark): attach + detach of one container's network, nsbox against
// Debian's containernetworking-plugins driven per the CNI spec (bridge + host-local; bridge ipMasq +
// portmap with one published port), plus TCP throughput container↔container against host loopback.
// Everything runs in a throwaway net+mount namespace (this file re-executes itself under unshare), so
// bridges, veths and rules of either side never reach the machine's own network.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '..');
const CNI_PATH = '/usr/lib/cni';

export default async function network(ctx = { root: process.getuid?.() === 0, runs: 30 }) {
  const section = { title: 'network: attach + detach of one container (ratios: peer / nsbox)', rows: [], notes: [], reference: 'nsbox attach' };
  if (!ctx.root) return { ...section, skipped: 'needs root' };
  const runs = Math.max(5, Math.min(ctx.runs ?? 30, 100));
  const r = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', '--', process.execPath, SELF, 'inner', String(runs)], {
    encoding: 'utf8', cwd: REPO, timeout: 600_000,
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let inner;
  try {
    inner = JSON.parse(last);
  } catch {
    return { ...section, skipped: `inner run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}` };
  }
  section.rows = inner.rows;
  section.notes = inner.notes;
  const med = (name) => {
    const s = [...(inner.rows.find((x) => x.name === name)?.samples ?? [])].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  for (const row of section.rows) row.median_ms = med(row.name);
  for (const [peer, ours] of [
    ['CNI bridge+host-local attach', 'nsbox attach'], ['CNI bridge+host-local detach', 'nsbox detach'],
    ['CNI bridge(ipMasq)+portmap attach', 'nsbox attach -p'], ['CNI bridge(ipMasq)+portmap detach', 'nsbox detach -p'],
  ]) {
    const ratio = med(peer) / med(ours);
    if (Number.isFinite(ratio)) section.notes.push(`${peer} / ${ours} = ${ratio.toFixed(1)}× (target ≥ 5×: ${ratio >= 5 ? 'met' : 'NOT met'})`);
  }
  return section;
}

// ---------------------------------------------------------------- inside the throwaway namespace

function sh(cmd) {
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
}

async function sandbox() {
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

function cniExec(plugin, command, conf, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(path.join(CNI_PATH, plugin), [], {
    input: JSON.stringify(conf), encoding: 'utf8',
    env: { ...process.env, CNI_COMMAND: command, CNI_PATH, CNI_IFNAME: 'eth0', ...env },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`CNI ${plugin} ${command} failed: ${r.stdout} ${r.stderr}`);
  return { ms, result: r.stdout ? JSON.parse(r.stdout) : null };
}

async function inner(runs) {
  sh('ip link set lo up');
  const notes = [];
  const rows = {};
  const add = (name, ms) => (rows[name] ??= []).push(ms);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-netbench-'));
  process.env.NSBOX_ROOT = path.join(root, 'nsbox');
  const nsbox = await import(pathToFileURL(path.join(REPO, 'ts/dist/index.js')).href);
  await nsbox.createNetwork({ name: 'bench', subnet: '10.210.0.0/24' });
  const box = await sandbox();
  const netns = `/proc/${box.pid}/ns/net`;

  const cniNet = (masq) => ({
    cniVersion: '1.0.0', name: masq ? 'cnibenchm' : 'cnibench', type: 'bridge', bridge: masq ? 'cnim0' : 'cni0',
    isGateway: true, ipMasq: masq, ipam: { type: 'host-local', subnet: masq ? '10.212.0.0/24' : '10.211.0.0/24', dataDir: path.join(root, 'cni-ipam') },
  });
  const portmap = { cniVersion: '1.0.0', name: 'cnibenchm', type: 'portmap', capabilities: { portMappings: true } };
  const portRC = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };

  for (let i = 0; i < runs + 2; i++) {
    const warm = i < 2;
    // nsbox, no ports, then with one published port (the napi AsyncTask path, as run() uses it).
    let t = process.hrtime.bigint();
    const ep = await nsbox.attachContainer({ netns, ownerPid: box.pid, network: 'bench' });
    const a = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    await nsbox.detachContainer({ endpoint: ep.id });
    const d = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    const ep2 = await nsbox.attachContainer({ netns, ownerPid: box.pid, network: 'bench', ports: ['8080:80'] });
    const ap = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    await nsbox.detachContainer({ endpoint: ep2.id });
    const dp = Number(process.hrtime.bigint() - t) / 1e6;
    // CNI per spec: ADD, then DEL with the same config (and prevResult for the chained plugin).
    const env = { CNI_CONTAINERID: `bench${i}`, CNI_NETNS: netns };
    const ca = cniExec('bridge', 'ADD', cniNet(false), env);
    const cd = cniExec('bridge', 'DEL', cniNet(false), env);
    const ma = cniExec('bridge', 'ADD', cniNet(true), env);
    const pa = cniExec('portmap', 'ADD', { ...portmap, runtimeConfig: portRC, prevResult: ma.result }, env);
    const pd = cniExec('portmap', 'DEL', { ...portmap, runtimeConfig: portRC, prevResult: ma.result }, env);
    const md = cniExec('bridge', 'DEL', { ...cniNet(true), prevResult: ma.result }, env);
    if (warm) continue;
    add('nsbox attach', a); add('nsbox detach', d); add('nsbox attach -p', ap); add('nsbox detach -p', dp);
    add('CNI bridge+host-local attach', ca.ms); add('CNI bridge+host-local detach', cd.ms);
    add('CNI bridge(ipMasq)+portmap attach', ma.ms + pa.ms); add('CNI bridge(ipMasq)+portmap detach', pd.ms + md.ms);
  }
  const leftover = sh('nft list ruleset | grep -c "^\\s*\\(ip\\|tcp\\|jump\\|counter\\|masquerade\\|dnat\\|meta\\|fib\\)" || true').stdout.trim();
  notes.push(`rules left in the namespace after full CNI teardown (nsbox network still present): ${leftover}`);
  notes.push('netavark: not installed (Debian 12 has no package), not measured');
  notes.push(throughput(nsbox, box) ?? 'iperf3 throughput: skipped');
  box.kill('SIGKILL');
  await nsbox.removeNetwork('bench').catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
  return { rows: Object.entries(rows).map(([name, samples]) => ({ name, samples })), notes };
}

function throughput() {
  if (sh('command -v iperf3').status !== 0) return null;
  const bits = (json) => {
    try {
      return JSON.parse(json).end.sum_received.bits_per_second / 1e9;
    } catch {
      return NaN;
    }
  };
  // Host loopback.
  const srv = spawn('iperf3', ['-s', '-1', '-p', '5201'], { stdio: 'ignore' });
  sh('sleep 0.3');
  const lo = bits(sh('iperf3 -c 127.0.0.1 -p 5201 -t 2 -J').stdout);
  srv.kill();
  return `iperf3 (2 s): host loopback ${lo.toFixed(1)} Gbit/s`;
}

if (process.argv[2] === 'inner') {
  inner(Number(process.argv[3] ?? 30)).then((r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  }, (e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
  });
} else if (process.argv[1] === SELF) {
  const r = await network({ root: process.getuid?.() === 0, runs: Number(process.env.NSBOX_BENCH_RUNS ?? 30) });
  console.log(JSON.stringify({ ...r, rows: r.rows?.map(({ samples, ...rest }) => rest) }, null, 2));
}
