#!/usr/bin/env node
// `npm run bench`: nsbox against crun and runc (and later sections), printed as a table and written to
// bench/out/results.json. See bench/README.md.
//
// Environment:
//   NSBOX_BENCH_RUNS     timed runs per entrant in the start-to-exit section (default 50)
//   NSBOX_BENCH_WARMUP   untimed warm-up runs per entrant (default 3)
//   NSBOX_BENCH_E2E_RUNS timed runs per entrant in the end-to-end and CLI start-up sections (default 20)
//   NSBOX_BENCH_ONLY     comma-separated section keys to run (start,e2e,lifecycle,network,rootless,engines,cli,stats,pull,images)
//   NSBOX_BENCH_PULL_RUNS timed pulls per entrant in the pull section (default 5)
//   NSBOX_RUNTIME        path of the nsbox-runtime executable (default target/release/nsbox-runtime)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildRootfs } from './lib/bundle.mjs';
import { finishSection, formatSection } from './lib/report.mjs';
import { benchDir, ensurePeers, envInt, hostInfo, isRoot, log, nsboxRuntimePath, peerVersions } from './lib/sys.mjs';

const SECTIONS = [
  { key: 'start', file: 'start.mjs', title: 'start-to-exit' },
  { key: 'e2e', file: 'e2e.mjs', title: 'end-to-end (CLI and TS API)' },
  { key: 'lifecycle', file: 'lifecycle.mjs', title: 'lifecycle (detached containers, exec)' },
  { key: 'network', file: 'network.mjs', title: 'network (attach/detach, throughput)' },
  { key: 'rootless', file: 'rootless.mjs', title: 'rootless network (pasta, slirp4netns)' },
  { key: 'engines', file: 'engines.mjs', title: 'engines (podman, containerd) per OCI runtime' },
  { key: 'cli', file: 'cli-start.mjs', title: 'CLI start-up (against node -e 0, docker, podman)' },
  { key: 'stats', file: 'stats.mjs', title: 'stats (one read of N containers, CPU ms)' },
  { key: 'pull', file: 'pull.mjs', title: 'pull from a local registry (against skopeo, podman)' },
  { key: 'images', file: 'images.mjs', title: 'images (run from an image vs --rootfs; load)' },
];

async function main() {
  const only = process.env.NSBOX_BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const setupNotes = ensurePeers();
  const nsboxBin = nsboxRuntimePath();
  const info = hostInfo();
  const versions = peerVersions(nsboxBin);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-bench-'));
  const ctx = {
    root: isRoot(),
    scratch,
    rootfs: null,
    nsboxBin,
    runs: envInt('NSBOX_BENCH_RUNS', 50),
    warmup: Number.isFinite(Number.parseInt(process.env.NSBOX_BENCH_WARMUP ?? '', 10)) ? Number.parseInt(process.env.NSBOX_BENCH_WARMUP, 10) : 3,
    e2eRuns: envInt('NSBOX_BENCH_E2E_RUNS', 20),
    idPrefix: `nsbench${process.pid}`,
    versions,
    log,
  };

  const header = [
    '# nsbox bench',
    `   ${info.date}  kernel ${info.kernel}  ${info.cpu}  node ${info.node}  load ${info.loadavg}`,
    `   cgroups: ${info.cgroupLayout}   nsbox commit ${info.nsboxCommit}`,
    ...Object.entries(versions).map(([k, v]) => `   ${k.padEnd(7)} ${v ?? (k === 'nsbox' ? `nsbox-runtime not built (${nsboxBin})` : 'not installed')}`),
    ...setupNotes.map((n) => `   - ${n}`),
    ...(ctx.root ? [] : ['   - not running as root: container sections are skipped']),
  ];
  console.log(header.join('\n'));

  const results = { info, versions, setupNotes, settings: { runs: ctx.runs, warmup: ctx.warmup, e2eRuns: ctx.e2eRuns }, sections: [] };
  const started = Date.now();
  try {
    if (fs.existsSync('/bin/busybox')) ctx.rootfs = buildRootfs(scratch);
    for (const s of SECTIONS) {
      if (only && !only.includes(s.key)) continue;
      const file = path.join(benchDir, s.file);
      let section;
      if (!fs.existsSync(file)) {
        section = { key: s.key, title: s.title, skipped: `bench/${s.file} does not exist yet` };
      } else if (!ctx.rootfs && s.key !== 'network' && s.key !== 'rootless' && s.key !== 'cli') {
        section = { key: s.key, title: s.title, skipped: '/bin/busybox missing (apt-get install busybox-static)' };
      } else {
        const t0 = Date.now();
        try {
          const mod = await import(pathToFileURL(file).href);
          if (typeof mod.default !== 'function') throw new Error(`bench/${s.file} has no default-exported function`);
          const r = await mod.default(ctx);
          section = r && typeof r === 'object' && ('rows' in r || 'skipped' in r) ? r : { title: s.title, rows: [], notes: [`result: ${JSON.stringify(r)}`], raw: r };
        } catch (e) {
          section = { title: s.title, skipped: `failed: ${e?.stack ?? e}` };
        }
        section.seconds = (Date.now() - t0) / 1000;
      }
      section.key = s.key;
      if (/interrupted by SIG/.test(section.skipped ?? '')) {
        console.log(formatSection(finishSection(section)));
        break;
      }
      section.title ??= s.title;
      finishSection(section);
      results.sections.push(section);
      console.log(formatSection(section));
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  const start = results.sections.find((s) => s.key === 'start');
  const ns = start?.rows?.find((r) => r.name === 'nsbox-runtime run');
  const summary = [];
  for (const peer of ['crun run', 'runc run']) {
    const p = start?.rows?.find((r) => r.name === peer);
    if (ns?.median && p?.median) summary.push(`nsbox/${peer.split(' ')[0]} = ${(ns.median / p.median).toFixed(2)} (by min ${(ns.min / p.min).toFixed(2)})`);
  }
  if (summary.length) {
    const crun = start.rows.find((r) => r.name === 'crun run');
    const met = crun?.median ? ns.median / crun.median <= 1.0 : null;
    console.log(`\nstart-to-exit median ratios: ${summary.join(', ')}${met === null ? '' : `  (target nsbox/crun ≤ 1.0: ${met ? 'met' : 'NOT met'})`}`);
  }
  // Issue 11: the cost of --memory 64m --pids-limit 100 (the section's notes have every runtime's).
  const lim = (n) => start?.rows?.find((r) => r.name === `${n} (+memory 64m +pids 100)`);
  const nsLim = lim('nsbox-runtime run');
  const crunLim = lim('crun run');
  if (ns?.median && nsLim?.median) {
    const pct = (nsLim.median / ns.median - 1) * 100;
    const overhead = `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}`;
    const vsCrun = crunLim?.median ? `, nsbox/crun with the same limits = ${(nsLim.median / crunLim.median).toFixed(2)} (target < 1)` : '';
    console.log(`with --memory 64m --pids-limit 100: nsbox ${overhead}% by median (target ≤ 10%)${vsCrun}`);
  }
  results.info.loadavgEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const busiest = Math.max(Number(info.loadavg.split(' ')[0]), os.loadavg()[0]);
  if (busiest > os.cpus().length) {
    console.log(`\nnote: the machine was busy (1-min load up to ${busiest.toFixed(1)} on ${os.cpus().length} CPUs): medians and p90 are inflated by other work; ratios and minimums hold up better.`);
  }
  results.seconds = (Date.now() - started) / 1000;
  const outDir = path.join(benchDir, 'out');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`\nwrote bench/out/results.json (${results.seconds.toFixed(1)} s; load at end ${results.info.loadavgEnd})`);
}

await main();
