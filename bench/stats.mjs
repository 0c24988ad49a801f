// Section "stats": what one read of N containers' usage costs the reading process (issue 11: under
// 50 ms of CPU for 200). N detached `sleep` containers of the busybox rootfs under a scratch state
// root, started with the TS API; then, alternating, R times each: Runtime.readStats() (list the
// states + read every container's cgroup files and /proc/PID/net/dev), the list alone, and the read
// alone of states already in hand, and that read again with the files held open as a stream holds
// them (Runtime.stats(), the TUI). The samples are CPU milliseconds of this process
// (process.cpuUsage, user + system), not wall time.
//   NSBOX_BENCH_STATS_N      containers (default 200)
//   NSBOX_BENCH_STATS_RUNS   reads per row (default 20)
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkInterrupted, envInt, log, repoRoot } from './lib/sys.mjs';

export default async function stats(ctx) {
  const n = envInt('NSBOX_BENCH_STATS_N', 200);
  const runs = envInt('NSBOX_BENCH_STATS_RUNS', 20);
  const section = { title: `stats: one read of ${n} running containers' usage, CPU ms of the reader`, rows: [], notes: [] };
  if (!ctx.root) return { ...section, skipped: 'needs root (detached containers with cgroups)' };
  const dist = path.join(repoRoot, 'ts/dist/index.js');
  if (!fs.existsSync(dist)) return { ...section, skipped: 'ts/dist missing: npm run build:ts' };
  if (ctx.nsboxBin) process.env.NSBOX_RUNTIME ??= ctx.nsboxBin;
  const nsbox = await import(pathToFileURL(dist).href);
  if (typeof nsbox.Runtime?.prototype.readStats !== 'function') return { ...section, skipped: 'this build has no Runtime.readStats' };
  const root = fs.mkdtempSync(path.join(ctx.scratch, 'stats-root-'));
  const rt = new nsbox.Runtime({ root });
  const containers = [];
  const t0 = Date.now();
  try {
    for (let i = 0; i < n; i += 20) {
      await checkInterrupted();
      const batch = Array.from({ length: Math.min(20, n - i) }, () => rt.run({ command: ['/bin/sleep', '100000'], rootfs: ctx.rootfs }));
      containers.push(...(await Promise.all(batch)));
    }
    log(`stats: ${n} containers started in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${runs} reads per row`);
    const cpu = (fn) => {
      const u = process.cpuUsage();
      const r = fn();
      const d = process.cpuUsage(u);
      return { ms: (d.user + d.system) / 1000, r };
    };
    const rows = {
      both: { name: `Runtime.readStats() of ${n} (list + read)`, samples: [] },
      list: { name: `Runtime.list() of ${n} (the states only)`, samples: [], baseline: true },
      read: { name: `readStats() of ${n} states in hand (the cgroup and netns files only)`, samples: [], baseline: true },
      held: { name: `the same, files held open (a stream's steady state: one pread each)`, samples: [], baseline: true },
    };
    let states = rt.list();
    if (states.length !== n) section.notes.push(`WARNING: ${states.length} running containers listed, ${n} started`);
    // One untimed round: the first read finds each container's cgroup directories (cached after),
    // and opens the files the held-open row then keeps.
    rt.readStats();
    const files = new nsbox.StatsFiles();
    states.forEach((s) => nsbox.readStats(s, files.read));
    for (let i = 0; i < runs; i++) {
      await checkInterrupted();
      const b = cpu(() => rt.readStats());
      if (b.r.length !== n) throw new Error(`readStats returned ${b.r.length} of ${n}`);
      rows.both.samples.push(b.ms);
      const l = cpu(() => rt.list());
      rows.list.samples.push(l.ms);
      states = l.r;
      rows.read.samples.push(cpu(() => states.map((s) => nsbox.readStats(s))).ms);
      rows.held.samples.push(cpu(() => {
        states.forEach((s) => nsbox.readStats(s, files.read));
        files.sweep();
      }).ms);
    }
    files.close();
    section.rows = Object.values(rows);
    section.reference = rows.both.name;
    section.notes.push('CPU ms of this process (process.cpuUsage, user + system), not wall time; target: Runtime.readStats() of 200 < 50 ms');
    section.notes.push('per container: cpuacct.usage, memory.usage_in_bytes, memory.stat, memory.limit_in_bytes, pids.current, pids.max, blkio.throttle.io_service_bytes_recursive, /proc/PID/net/dev (v1 here; v2: cpu.stat, memory.current, memory.stat, memory.max, pids.*, io.stat)');
  } finally {
    const t1 = Date.now();
    for (let i = 0; i < containers.length; i += 16) await Promise.all(containers.slice(i, i + 16).map((c) => c.remove({ force: true }).catch(() => {})));
    const left = rt.list({ all: true }).length;
    section.notes.push(`${containers.length} containers removed in ${((Date.now() - t1) / 1000).toFixed(1)} s${left ? `; ${left} LEFT in ${root}` : ''}`);
  }
  return section;
}
