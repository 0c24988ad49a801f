// Section "rootless" (issue 13): a rootless container's network through a user-mode helper, as
// `nobody`, side by side with rootless podman 4.3 (Debian's; slirp4netns, its only helper before
// pasta; `--runtime crun`, all its state in a private directory) and with pasta run by hand.
//  - start-to-exit of `run --rm … true` with and without a network, for nsbox and podman, on the
//    same small rootfs (busybox + iperf3 and its libraries); the network's cost (attach + detach)
//    is each engine's row minus its own `--network none` row, reported with ratios;
//  - a rootless user-defined network (`benchnet`: a veth in the user's holder namespace, egress
//    through the holder's pasta), created once;
//  - pasta by hand: start on an unshare'd namespace until its pid file is there (no container);
//  - TCP throughput, iperf3 one stream (-t NSBOX_BENCH_IPERF_SECS, default 3) from the container
//    to the fake host, each way of running it once per round (rounds interleaved, shuffled).
// Everything runs in a throwaway net+mount namespace (this file re-executes itself under unshare)
// whose "host network" is a veth pair, with a 0666 tun node on a tmpfs over /dev/net and the hybrid
// host's cgroup2 mount unmounted (crun 1.8 refuses hybrid layouts) in that mount namespace only.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensurePeers } from './lib/sys.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '..');
const CLI = path.join(REPO, 'cli/dist/main.js');

export default async function rootless(ctx = { root: process.getuid?.() === 0, runs: 20 }) {
  const section = { title: 'rootless network (as nobody): start-to-exit, nsbox against rootless podman 4.3 and pasta by hand (ratios: row / its engine\'s none)', rows: [], notes: [], reference: 'nsbox run --network none', ratioMode: 'row/ref' };
  if (!ctx.root) return { ...section, skipped: 'needs root (the throwaway namespace, setpriv)' };
  const runs = Math.max(5, Math.min(ctx.runs ?? 20, 50));
  const installed = ensurePeers(['passt', 'slirp4netns', 'iperf3', 'iproute2', 'podman', 'crun', 'busybox-static']);
  const r = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', '--', process.execPath, SELF, 'inner', String(runs)], { encoding: 'utf8', cwd: REPO, timeout: 1_200_000 });
  try {
    const inner = JSON.parse((r.stdout ?? '').trim().split('\n').pop() ?? '');
    return { ...section, rows: inner.rows, notes: [...installed, ...inner.notes] };
  } catch {
    return { ...section, skipped: `inner run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}` };
  }
}

const sh = (c, timeout = 60_000) => spawnSync('sh', ['-c', c], { encoding: 'utf8', timeout });
const must = (c) => {
  const x = sh(c);
  if (x.status !== 0) throw new Error(`${c}: ${x.stderr}`);
  return x.stdout;
};
const AS_NOBODY = 'setpriv --reuid=65534 --regid=65534 --clear-groups';
const NOBODY = `${AS_NOBODY} env HOME=/nonexistent XDG_RUNTIME_DIR=/mnt/xdg`;
const ROOTFS = '/mnt/rootfs';
const POD = '/mnt/podman';
const PODMAN = `${AS_NOBODY} env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=${POD} USER=nobody XDG_RUNTIME_DIR=${POD}/run XDG_CONFIG_HOME=${POD}/config XDG_DATA_HOME=${POD}/data `
  + 'podman --log-level=error --runtime crun --cgroup-manager=cgroupfs --storage-driver=vfs run --cgroups=disabled --rm';
const nsbox = (net, cmd) => `${NOBODY} ${process.execPath} ${CLI} run --rm --network ${net} --rootfs ${ROOTFS} -- ${cmd}`;
const podman = (net, cmd) => `${PODMAN} --network ${net} --rootfs ${ROOTFS} ${cmd}`;
// pasta by hand as podman 4.4+ runs it, on a namespace of unshare's: what nsbox's keeper does, without nsbox.
const PASTA_OPTS = '--config-net --dns-forward 169.254.1.1 -T none -U none --no-map-gw -t none -u none';
const byHand = (inside) => `${NOBODY} sh -c 'unshare --user --map-root-user --net sleep 60 & P=$!; sleep 0.2; s=$(date +%s%N); `
  + `pasta -q ${PASTA_OPTS} -P /mnt/xdg/p.pid $P >/dev/null 2>&1; e=$(date +%s%N); ${inside}; kill $(cat /mnt/xdg/p.pid) $P'`;

function setup() {
  for (const c of [
    'ip link set lo up', 'ip link add h0 type veth peer name h1', 'ip addr add 192.0.2.1/24 dev h0', 'ip addr add 192.0.2.9/24 dev h0',
    'ip addr add 192.0.2.254/24 dev h1', 'ip link set h0 up', 'ip link set h1 up', 'ip route add default via 192.0.2.254 dev h0',
    'mount -t tmpfs tmpfs /dev/net', 'mknod -m 666 /dev/net/tun c 10 200', 'mount -t tmpfs tmpfs /mnt',
    'if grep -q " /sys/fs/cgroup/unified cgroup2 " /proc/self/mounts && grep -q " cgroup " /proc/self/mounts; then umount /sys/fs/cgroup/unified; fi',
    'mkdir -m 700 /mnt/xdg', 'chown 65534:65534 /mnt/xdg', 'iperf3 -s -B 192.0.2.9 -D -I /mnt/iperf.pid',
    // The rootfs both engines run: busybox, and iperf3 with its libraries.
    `mkdir -p ${ROOTFS}/bin ${ROOTFS}/usr/bin ${ROOTFS}/etc ${ROOTFS}/proc ${ROOTFS}/sys ${ROOTFS}/dev ${ROOTFS}/tmp`,
    `cp /bin/busybox ${ROOTFS}/bin/busybox && for a in sh true cat; do ln -s busybox ${ROOTFS}/bin/$a; done`,
    `cp /usr/bin/iperf3 ${ROOTFS}/usr/bin/ && for l in $(ldd /usr/bin/iperf3 | grep -o '/lib[^ ]*'); do mkdir -p ${ROOTFS}$(dirname $l) && cp $l ${ROOTFS}$l; done`,
    `chown -R 65534:65534 ${ROOTFS}`,
    `mkdir -p ${POD}/run ${POD}/config ${POD}/data && chown -R 65534:65534 ${POD} && chmod 700 ${POD}/run`,
  ]) must(c);
}

function stopPodman() {
  try {
    process.kill(Number(readFileSync(`${POD}/run/libpod/tmp/pause.pid`, 'utf8').trim()), 'SIGKILL');
  } catch {
    /* no pause process */
  }
}

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : NaN;
};

function inner(runs) {
  setup();
  const rows = {};
  const notes = [];
  const load0 = os.loadavg()[0];
  const starts = {
    'nsbox run --network none': nsbox('none', 'true'),
    'nsbox run --network pasta': nsbox('pasta', 'true'),
    'nsbox run --network slirp4netns': nsbox('slirp4netns', 'true'),
    // A rootless user-defined network (its holder starts below, once): attach is a veth in the
    // user's holder namespace, egress through the holder's pasta (docs/networking.md).
    'nsbox run --network benchnet (rootless bridge)': nsbox('benchnet', 'true'),
    'podman run --network none': podman('none', 'true'),
    'podman run --network slirp4netns': podman('slirp4netns', 'true'),
  };
  // A/B: NSBOX_BENCH_AB_CLI names another checkout's cli/dist/main.js (e.g. main's), whose rows
  // ("B: …") are interleaved and shuffled with these.
  const ab = process.env.NSBOX_BENCH_AB_CLI;
  if (ab) for (const net of ['none', 'pasta', 'slirp4netns']) starts[`B: nsbox run --network ${net}`] = nsbox(net, 'true').replace(CLI, ab);
  const created = process.hrtime.bigint();
  must(`${NOBODY} ${process.execPath} ${CLI} network create benchnet`);
  notes.push(`rootless network create (holder + its pasta start): ${(Number(process.hrtime.bigint() - created) / 1e6).toFixed(0)} ms`);
  try {
    for (const [name, cmd] of Object.entries(starts)) must(cmd); // warm: podman's pause process, page cache
    for (let i = 0; i < runs; i++) {
      // Interleaved and shuffled, so load drifts hit every row alike.
      for (const [name, cmd] of shuffle(Object.entries(starts))) {
        const t0 = process.hrtime.bigint();
        must(cmd);
        (rows[name] ??= []).push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const ns = Number(sh(byHand('echo $(( e - s ))')).stdout.trim());
      if (Number.isFinite(ns)) (rows['pasta by hand until ready (no container)'] ??= []).push(ns / 1e6);
    }
    const cost = (net, none) => median(rows[net]) - median(rows[none]);
    const nsPasta = cost('nsbox run --network pasta', 'nsbox run --network none');
    const nsSlirp = cost('nsbox run --network slirp4netns', 'nsbox run --network none');
    const podSlirp = cost('podman run --network slirp4netns', 'podman run --network none');
    notes.push(`network attach+detach cost (median of the network row − median of that engine's none row): nsbox pasta ${nsPasta.toFixed(0)} ms, `
      + `nsbox slirp4netns ${nsSlirp.toFixed(0)} ms, podman slirp4netns ${podSlirp.toFixed(0)} ms; nsbox/podman: pasta ${(nsPasta / podSlirp).toFixed(2)}, `
      + `slirp4netns ${(nsSlirp / podSlirp).toFixed(2)}; pasta by hand until ready ${median(rows['pasta by hand until ready (no container)'] ?? []).toFixed(0)} ms (start only)`);
    if (ab) notes.push(`B (${ab}): network cost pasta ${cost('B: nsbox run --network pasta', 'B: nsbox run --network none').toFixed(0)} ms, slirp4netns ${cost('B: nsbox run --network slirp4netns', 'B: nsbox run --network none').toFixed(0)} ms`);
    notes.push(...throughput());
  } finally {
    stopPodman();
    sh(`${NOBODY} ${process.execPath} ${CLI} network rm benchnet`);
    sh('kill $(cat /mnt/iperf.pid)');
  }
  notes.push(`load average (1 min) ${load0.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end; ${os.cpus().length} CPUs`);
  return {
    // In a fixed order; podman's network row against podman's none.
    rows: [...Object.keys(starts), 'pasta by hand until ready (no container)'].filter((n) => rows[n]).map((name) => ({
      name, samples: rows[name], ...(name === 'podman run --network slirp4netns' ? { reference: 'podman run --network none' } : {}),
    })),
    notes,
  };
}

/** iperf3 from the container to the fake host: each way once per round, rounds shuffled; medians and ranges in Gbit/s. */
function throughput() {
  const secs = Number(process.env.NSBOX_BENCH_IPERF_SECS ?? 3);
  const rounds = Number(process.env.NSBOX_BENCH_IPERF_ROUNDS ?? 5);
  const iperf = `iperf3 -c 192.0.2.9 -t ${secs} -J`;
  const ways = {
    'nsbox --network pasta': nsbox('pasta', iperf),
    'pasta by hand (nsenter)': byHand(`nsenter -t $P -U -n --preserve-credentials ${iperf}`),
    'nsbox --network slirp4netns': nsbox('slirp4netns', iperf),
    'nsbox --network benchnet (rootless bridge)': nsbox('benchnet', iperf),
    'podman --network slirp4netns': podman('slirp4netns', iperf),
  };
  const got = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, cmd] of shuffle(Object.entries(ways))) {
      const out = sh(cmd, (secs + 30) * 1000).stdout;
      try {
        (got[name] ??= []).push(JSON.parse(out.slice(out.indexOf('{'))).end.sum_received.bits_per_second / 1e9);
      } catch {
        (got[name] ??= []);
      }
    }
  }
  const m = Object.fromEntries(Object.entries(got).map(([k, v]) => [k, median(v)]));
  const fmt = (k) => `${k} ${m[k]?.toFixed(2)} (${Math.min(...got[k]).toFixed(2)}–${Math.max(...got[k]).toFixed(2)}, n=${got[k].length})`;
  return [
    `iperf3 TCP throughput, Gbit/s, median (range) of ${rounds} rounds × ${secs} s: ${Object.keys(ways).filter((k) => got[k]?.length).map(fmt).join('; ')}`,
    `throughput ratios: nsbox pasta / pasta by hand ${(m['nsbox --network pasta'] / m['pasta by hand (nsenter)']).toFixed(2)}, `
      + `nsbox pasta / podman slirp4netns ${(m['nsbox --network pasta'] / m['podman --network slirp4netns']).toFixed(2)}, `
      + `nsbox slirp4netns / podman slirp4netns ${(m['nsbox --network slirp4netns'] / m['podman --network slirp4netns']).toFixed(2)}`,
  ];
}

if (process.argv[2] === 'inner') {
  console.log(JSON.stringify(inner(Number(process.argv[3]))));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const { finishSection, formatSection } = await import('./lib/report.mjs');
  console.log(formatSection(finishSection(await rootless({ root: process.getuid?.() === 0, runs: Number(process.env.NSBOX_BENCH_RUNS ?? 10) }))));
}
