// Section "rootless" (issue 13): a rootless container's network through a user-mode helper, as
// `nobody`. Start-to-exit of `nsbox run --rm --network pasta|slirp4netns -- true` against
// `--network none` (the helper's whole cost: keeper, helper start, ready wait, stop), a rootless
// user-defined network (`benchnet`: a veth in the user's holder namespace, egress through its pasta) and against
// starting pasta by hand on an unshare'd namespace until it is ready; then TCP throughput (iperf3,
// one stream, 3 s) from the container to the fake host, through nsbox and through pasta by hand.
// Everything runs in a throwaway net+mount namespace (this file re-executes itself under unshare)
// whose "host network" is a veth pair, with a 0666 tun node on a tmpfs over /dev/net of that mount
// namespace only. Not compared: rootless podman (Debian's 4.3 with slirp4netns).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensurePeers } from './lib/sys.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '..');
const CLI = path.join(REPO, 'cli/dist/main.js');

export default async function rootless(ctx = { root: process.getuid?.() === 0, runs: 20 }) {
  const section = { title: 'rootless network (as nobody): start-to-exit and throughput (ratios: row / none)', rows: [], notes: [], reference: 'nsbox run --network none', ratioMode: 'row/ref' };
  if (!ctx.root) return { ...section, skipped: 'needs root (the throwaway namespace, setpriv)' };
  const runs = Math.max(5, Math.min(ctx.runs ?? 20, 50));
  const installed = ensurePeers(['passt', 'slirp4netns', 'iperf3', 'iproute2']);
  const r = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', '--', process.execPath, SELF, 'inner', String(runs)], { encoding: 'utf8', cwd: REPO, timeout: 600_000 });
  try {
    const inner = JSON.parse((r.stdout ?? '').trim().split('\n').pop() ?? '');
    return { ...section, rows: inner.rows, notes: [...installed, ...inner.notes] };
  } catch {
    return { ...section, skipped: `inner run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}` };
  }
}

const sh = (c) => spawnSync('sh', ['-c', c], { encoding: 'utf8', timeout: 60_000 });
const NOBODY = 'setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent XDG_RUNTIME_DIR=/mnt/xdg';

function inner(runs) {
  for (const c of [
    'ip link set lo up', 'ip link add h0 type veth peer name h1', 'ip addr add 192.0.2.1/24 dev h0', 'ip addr add 192.0.2.9/24 dev h0',
    'ip addr add 192.0.2.254/24 dev h1', 'ip link set h0 up', 'ip link set h1 up', 'ip route add default via 192.0.2.254 dev h0',
    'mount -t tmpfs tmpfs /dev/net', 'mknod -m 666 /dev/net/tun c 10 200', 'mount -t tmpfs tmpfs /mnt',
    'mkdir -m 700 /mnt/xdg', 'chown 65534:65534 /mnt/xdg', 'iperf3 -s -B 192.0.2.9 -D -I /mnt/iperf.pid',
  ]) {
    const x = sh(c);
    if (x.status !== 0) throw new Error(`${c}: ${x.stderr}`);
  }
  const rows = {};
  const notes = [];
  const time = (name, cmd) => {
    const t0 = process.hrtime.bigint();
    const x = sh(cmd);
    if (x.status !== 0) throw new Error(`${name}: ${x.stderr}`);
    (rows[name] ??= []).push(Number(process.hrtime.bigint() - t0) / 1e6);
  };
  const byHand = `${NOBODY} sh -c 'unshare --user --map-root-user --net sleep 30 & P=$!; sleep 0.2; s=$(date +%s%N); pasta -q --config-net -T none -U none -t none -u none -P /mnt/xdg/p.pid $P 2>/dev/null; e=$(date +%s%N); echo $(( e - s )); kill $(cat /mnt/xdg/p.pid) $P'`;
  // A rootless user-defined network (its holder starts here, once): attach is a veth in the holder's
  // namespace, not a helper per container.
  const created = Date.now();
  if (sh(`${NOBODY} ${process.execPath} ${CLI} network create benchnet`).status !== 0) throw new Error('network create benchnet failed');
  notes.push(`rootless network create (holder + pasta start): ${Date.now() - created} ms`);
  for (let i = 0; i < runs; i++) {
    // Interleaved, so load drifts hit every row alike.
    for (const net of ['none', 'pasta', 'slirp4netns', 'benchnet']) time(`nsbox run --network ${net}`, `${NOBODY} ${process.execPath} ${CLI} run --rm --network ${net} -- true`);
    const ns = Number(sh(byHand).stdout.trim());
    if (Number.isFinite(ns)) (rows['pasta by hand until ready (no container)'] ??= []).push(ns / 1e6);
  }
  const gbit = (out) => /([\d.]+) Gbits\/sec.*receiver/.exec(out)?.[1] ?? '?';
  for (const net of ['pasta', 'slirp4netns', 'benchnet']) {
    notes.push(`iperf3 through nsbox --network ${net}: ${gbit(sh(`${NOBODY} ${process.execPath} ${CLI} run --rm --network ${net} -- iperf3 -c 192.0.2.9 -t 3 -f g`).stdout)} Gbit/s`);
  }
  notes.push(`iperf3 through pasta by hand: ${gbit(sh(`${NOBODY} sh -c 'unshare --user --map-root-user --net sleep 30 & P=$!; sleep 0.2; pasta -q --config-net -T none -U none -t none -u none -P /mnt/xdg/p.pid $P 2>/dev/null; nsenter -t $P -U -n --preserve-credentials iperf3 -c 192.0.2.9 -t 3 -f g; kill $(cat /mnt/xdg/p.pid) $P'`).stdout)} Gbit/s`);
  sh(`${NOBODY} ${process.execPath} ${CLI} network rm benchnet`);
  sh('kill $(cat /mnt/iperf.pid)');
  return { rows: Object.entries(rows).map(([name, samples]) => ({ name, samples })), notes };
}

if (process.argv[2] === 'inner') {
  console.log(JSON.stringify(inner(Number(process.argv[3]))));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const { finishSection, formatSection } = await import('./lib/report.mjs');
  console.log(formatSection(finishSection(await rootless({ root: process.getuid?.() === 0, runs: 10 }))));
}
