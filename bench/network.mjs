// Section "network" (issue 3's benchmark): attach + detach of one container's network, nsbox against
// Debian's containernetworking-plugins driven per the CNI spec (bridge + host-local; bridge ipMasq +
// portmap with one published port) and against netavark (`setup`/`teardown` with a network config
// JSON, without and with one published port), plus TCP throughput (iperf3) container↔container over
// the bridge against host loopback, and the rules each peer leaves behind after a full teardown.
// Everything runs in a throwaway net+mount namespace (this file re-executes itself under unshare), so
// bridges, veths and rules of either side never reach the machine's own network.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ensurePeers } from './lib/sys.mjs';
import { cniExec, leftovers, netavark, NETAVARK, netnsChild, throughput } from './lib/netpeers.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '..');

export default async function network(ctx = { root: process.getuid?.() === 0, runs: 30 }) {
  const section = { title: 'network: attach + detach of one container (ratios: peer / nsbox)', rows: [], notes: [], reference: 'nsbox attach' };
  if (!ctx.root) return { ...section, skipped: 'needs root' };
  const runs = Math.max(5, Math.min(ctx.runs ?? 30, 100));
  const installed = ensurePeers(['containernetworking-plugins', 'netavark', 'iperf3', 'nftables', 'iproute2']);
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
  section.notes = [...installed, ...inner.notes];
  const med = (name) => {
    const s = [...(inner.rows.find((x) => x.name === name)?.samples ?? [])].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  for (const row of section.rows) row.median_ms = med(row.name);
  for (const [peer, ours] of [
    ['CNI bridge+host-local attach', 'nsbox attach'], ['CNI bridge+host-local detach', 'nsbox detach'],
    ['CNI bridge(ipMasq)+portmap attach', 'nsbox attach -p'], ['CNI bridge(ipMasq)+portmap detach', 'nsbox detach -p'],
    ['netavark setup', 'nsbox attach'], ['netavark teardown', 'nsbox detach'],
    ['netavark setup -p', 'nsbox attach -p'], ['netavark teardown -p', 'nsbox detach -p'],
    ['CNI bridge+host-local detach', 'nsbox detach + kernel remainder'],
    ...[['CNI bridge+host-local attach', 'nsbox attach'], ['CNI bridge+host-local detach', 'nsbox detach'],
      ['CNI bridge(ipMasq)+portmap attach', 'nsbox attach -p'], ['CNI bridge(ipMasq)+portmap detach', 'nsbox detach -p']]
      .map(([a, b]) => [`${a} (first after another tool)`, `${b} (first after another tool)`]),
  ]) {
    const ratio = med(peer) / med(ours);
    if (Number.isFinite(ratio)) section.notes.push(`${peer} / ${ours} = ${ratio.toFixed(1)}× (target ≥ 5×: ${ratio >= 5 ? 'met' : 'NOT met'})`);
  }
  return section;
}

// ---------------------------------------------------------------- inside the throwaway namespace

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function sh(cmd) {
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
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
  const box = await netnsChild();
  const netns = `/proc/${box.pid}/ns/net`;

  const cniNet = (masq) => ({
    cniVersion: '1.0.0', name: masq ? 'cnibenchm' : 'cnibench', type: 'bridge', bridge: masq ? 'cnim0' : 'cni0',
    isGateway: true, ipMasq: masq, ipam: { type: 'host-local', subnet: masq ? '10.212.0.0/24' : '10.211.0.0/24', dataDir: path.join(root, 'cni-ipam') },
  });
  const portmap = { cniVersion: '1.0.0', name: 'cnibenchm', type: 'portmap', capabilities: { portMappings: true } };
  const portRC = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
  // netavark removes its bridge with the network's last container: a second container (the keeper)
  // stays attached so that, as for nsbox and CNI, only the endpoint comes and goes.
  const keepers = fs.existsSync(NETAVARK) ? [await netnsChild(), await netnsChild()] : [];
  const nvPlain = keepers[0] && netavark({ root, name: 'nvbench', bridge: 'nvbr0', subnet: '10.213.0', keeper: keepers[0].pid });
  const nvPorts = keepers[1] && netavark({ root, name: 'nvbenchp', bridge: 'nvbr1', subnet: '10.214.0', keeper: keepers[1].pid, port: 8082 });

  // Each tool runs a block of BLOCK cycles in a row, the tools in a different order each round, with
  // QUIET_MS of nothing between blocks. A block's first cycle still runs with cold caches and TLBs
  // after another tool (costly on this nested VM), so it is reported apart, as "(first after another
  // tool)", for every tool alike; the rows themselves are the other cycles.
  const BLOCK = 5;
  const QUIET_MS = 100;
  const rounds = Math.ceil(runs / (BLOCK - 1));
  let n = 0;
  const tools = [
    ['nsbox', async () => {
      let t = process.hrtime.bigint();
      const ep = await nsbox.attachContainer({ netns, ownerPid: box.pid, network: 'bench' });
      const a = ms(t);
      t = process.hrtime.bigint();
      await nsbox.detachContainer({ endpoint: ep.id });
      const d = ms(t);
      // What the kernel still does after detach returned (waiting for RCU before freeing the veth).
      await nsbox.settleNetworkTeardown();
      return [['nsbox attach', a], ['nsbox detach', d], ['nsbox detach + kernel remainder', ms(t)]];
    }],
    ['nsbox -p', async () => {
      let t = process.hrtime.bigint();
      const ep = await nsbox.attachContainer({ netns, ownerPid: box.pid, network: 'bench', ports: ['8080:80'] });
      const a = ms(t);
      t = process.hrtime.bigint();
      await nsbox.detachContainer({ endpoint: ep.id });
      const d = ms(t);
      await nsbox.settleNetworkTeardown();
      return [['nsbox attach -p', a], ['nsbox detach -p', d]];
    }],
    // CNI per spec: ADD, then DEL with the same config (and prevResult for the chained plugin).
    ['CNI', async () => {
      const env = { CNI_CONTAINERID: `bench${n++}`, CNI_NETNS: netns };
      const ca = cniExec('bridge', 'ADD', cniNet(false), env);
      const cd = cniExec('bridge', 'DEL', cniNet(false), env);
      return [['CNI bridge+host-local attach', ca.ms], ['CNI bridge+host-local detach', cd.ms]];
    }],
    ['CNI -p', async () => {
      const env = { CNI_CONTAINERID: `bench${n++}`, CNI_NETNS: netns };
      const ma = cniExec('bridge', 'ADD', cniNet(true), env);
      const pa = cniExec('portmap', 'ADD', { ...portmap, runtimeConfig: portRC, prevResult: ma.result }, env);
      const pd = cniExec('portmap', 'DEL', { ...portmap, runtimeConfig: portRC, prevResult: ma.result }, env);
      const md = cniExec('bridge', 'DEL', { ...cniNet(true), prevResult: ma.result }, env);
      return [['CNI bridge(ipMasq)+portmap attach', ma.ms + pa.ms], ['CNI bridge(ipMasq)+portmap detach', pd.ms + md.ms]];
    }],
    ...(nvPlain ? [['netavark', async () => {
      const nv = nvPlain.cycle(netns, n++);
      return [['netavark setup', nv.setup], ['netavark teardown', nv.teardown]];
    }]] : []),
    ...(nvPorts ? [['netavark -p', async () => {
      const nv = nvPorts.cycle(netns, n++);
      return [['netavark setup -p', nv.setup], ['netavark teardown -p', nv.teardown]];
    }]] : []),
  ];
  for (const [, cycle] of tools) await cycle(); // untimed: first use of each tool (files, binaries)
  // A fixed-seed shuffle per round, so every tool follows every other one now and then.
  let seed = 0x2545f491;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let round = 0; round < rounds; round++) {
    const order = tools.map((tool) => [rand(), tool]).sort((x, y) => x[0] - y[0]).map(([, tool]) => tool);
    for (const [, cycle] of order) {
      // The previous tool's deferred kernel work (RCU callbacks, nf_tables transaction cleanup)
      // must not land on this one's timings.
      await new Promise((r) => setTimeout(r, QUIET_MS));
      for (let i = 0; i < BLOCK; i++) {
        for (const [name, value] of await cycle()) add(i === 0 ? `${name} (first after another tool)` : name, value);
      }
    }
  }
  nvPlain?.close();
  nvPorts?.close();
  for (const k of keepers) k.kill('SIGKILL');
  notes.push(`blocks of ${BLOCK} cycles per tool, ${QUIET_MS} ms apart, tool order shuffled each round; rows are cycles 2–${BLOCK} of each block, "(first after another tool)" rows are cycle 1`);
  notes.push(`nsbox detach returns once the kernel has unregistered the veth; "nsbox detach + kernel remainder" waits (settleNetworkTeardown) until the kernel has freed it, as CNI's and netavark's deletions do before they exit`);
  notes.push(keepers.length ? `netavark ${sh(`${NETAVARK} --version`).stdout.trim()} (firewall: iptables ${sh('iptables --version').stdout.trim()}), one keeper container attached throughout` : 'netavark: not installed, not measured');
  // Rules left after a full teardown (the last container and network gone), each peer in a fresh
  // namespace of its own.
  notes.push(`rules left after full teardown: ${leftovers(REPO, root).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  notes.push(await throughput(nsbox) ?? 'iperf3: not installed, throughput not measured');
  box.kill('SIGKILL');
  await nsbox.removeNetwork('bench').catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
  return { rows: Object.entries(rows).map(([name, samples]) => ({ name, samples })), notes };
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
