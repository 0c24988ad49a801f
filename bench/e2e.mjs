// Section "end-to-end": what a user pays on top of the runtime.
//  - `nsbox run --rm -- /bin/true` through the CLI (node cli/dist/main.js): a fresh Node process each time;
//  - `run({ command: ['/bin/true'] })` through the TS API, repeated in this one Node process;
//  - reference: `nsbox-runtime run --bundle DIR ID` of the busybox bundle, here in the host's own mount and
//    cgroup namespaces (hybrid cgroups visible), as the CLI and API run it;
//  - baselines: `node -e 0` (Node start-up) and `nsbox --help` (start-up + the CLI's imports), both part
//    of every CLI run.
// Everything alternates run by run. The CLI and API use nsbox's default container (the host root
// read-only, fresh /proc, /dev, /sys, tmpfs /tmp and /run, default namespaces), not the busybox bundle.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { findAdjustments, makeBundle, NAMESPACES, PROBE_ARGS } from './lib/bundle.mjs';
import { checkProbe } from './lib/probe.mjs';
import { sweepCgroups } from './lib/cgroups.mjs';
import { captureRun, commandLine, makeRuntimes, timedRun } from './lib/runtimes.mjs';
import { roundOrder } from './lib/stats.mjs';
import { checkInterrupted, log, repoRoot } from './lib/sys.mjs';

const CLI = path.join(repoRoot, 'cli/dist/main.js');

function newestMtime(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return t;
}

function staleNote(pkg) {
  const src = path.join(repoRoot, pkg, 'src');
  const dist = path.join(repoRoot, pkg, 'dist');
  if (!fs.existsSync(src) || !fs.existsSync(dist)) return null;
  return newestMtime(src) > newestMtime(dist) ? `${pkg}/dist is older than ${pkg}/src (run \`npm run build:ts\`)` : null;
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function loadApi() {
  try {
    return await import('nsbox');
  } catch {
    const p = path.join(repoRoot, 'ts/dist/index.js');
    if (!fs.existsSync(p)) throw new Error('ts/dist/index.js not built (npm run build:ts)');
    return await import(pathToFileURL(p).href);
  }
}

export default async function endToEnd(ctx) {
  const section = {
    title: 'end-to-end: CLI `nsbox run --rm -- /bin/true` and TS API `run()` (host namespaces, hybrid cgroups)',
    rows: [],
    notes: [],
    reference: 'nsbox-runtime run --bundle',
    ratioMode: 'row/ref',
  };
  if (!ctx.root) {
    section.skipped = 'needs root';
    return section;
  }
  for (const pkg of ['ts', 'cli']) {
    const n = staleNote(pkg);
    if (n) section.notes.push(`warning: ${n}`);
  }
  const runs = ctx.e2eRuns;
  const entrants = [];
  const skipped = [];

  // Reference: the bare runtime, here in the host namespaces.
  const rt = makeRuntimes(ctx.nsboxBin).find((r) => r.name === 'nsbox-runtime');
  if (rt) {
    // same config adjustments as start-to-exit needed (found again here, in the host namespaces)
    const { adjustments } = findAdjustments(rt, ctx.scratch, ctx.rootfs, captureRun, `${ctx.idPrefix}-e2eadj`);
    if (adjustments.length) section.notes.push(`bundle adjustments for the runtime row: ${adjustments.join(', ')} (see start-to-exit)`);
    const bundle = makeBundle(ctx.scratch, 'e2e-std', ctx.rootfs, { adjustments });
    const probeBundle = makeBundle(ctx.scratch, 'e2e-probe', ctx.rootfs, { args: PROBE_ARGS, adjustments });
    const probe = captureRun(rt, probeBundle.dir, `${ctx.idPrefix}-e2eprobe`);
    const problems = probe.ok ? checkProbe(probe.stdout, NAMESPACES) : [`\`${probe.command}\` exited ${probe.status ?? probe.signal}: ${probe.stderr}`];
    if (problems.length === 0) entrants.push({ name: 'nsbox-runtime run --bundle', kind: 'runtime', rt, bundle: bundle.dir });
    else skipped.push({ name: 'nsbox-runtime run --bundle', skipped: `probe: ${problems.join('; ')}` });
  } else skipped.push({ name: 'nsbox-runtime run --bundle', skipped: `nsbox-runtime not built (${ctx.nsboxBin})` });

  // CLI.
  if (!fs.existsSync(CLI)) skipped.push({ name: 'CLI nsbox run --rm', skipped: 'cli/dist/main.js not built (npm run build:ts)' });
  else {
    const args = [CLI, 'run', '--rm', '--', '/bin/sh', '-c', 'echo $$'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30000 });
    if (r.status === 0 && r.stdout.trim() === '1') entrants.push({ name: 'CLI nsbox run --rm', kind: 'cli' });
    else
      skipped.push({
        name: 'CLI nsbox run --rm',
        skipped: `probe \`${commandLine('node', args)}\` exited ${r.status ?? r.signal}, stdout ${JSON.stringify(r.stdout.trim())}: ${(r.stderr || String(r.error ?? '')).trim().split('\n').slice(-2).join(' | ')}`,
      });
  }

  // TS API.
  let api = null;
  try {
    api = await loadApi();
    if (typeof api.run !== 'function') throw new Error(`the 'nsbox' module exports no run() (exports: ${Object.keys(api).join(', ') || 'none'})`);
    const r = await withTimeout(api.run({ command: ['/bin/sh', '-c', 'echo $$'], stdout: 'pipe' }), 60000);
    if (r.exitCode !== 0 || r.stdout?.trim() !== '1') throw new Error(`probe run({command:['/bin/sh','-c','echo $$']}) gave exitCode ${r.exitCode}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
    entrants.push({ name: 'TS API run()', kind: 'api' });
  } catch (e) {
    skipped.push({ name: 'TS API run()', skipped: `${e?.code ? `${e.code}: ` : ''}${e?.message ?? e}` });
  }

  if (fs.existsSync(CLI)) entrants.push({ name: 'CLI --help (start-up + imports)', kind: 'help' });
  entrants.push({ name: 'node -e 0 (Node start-up)', kind: 'node' });
  for (const e of entrants) Object.assign(e, { samples: [], failures: 0, firstError: null });

  let seq = 0;
  const once = async (e) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    if (e.kind === 'runtime') return timedRun(e.rt, e.bundle, `${ctx.idPrefix}-e2e-${seq++}`);
    if (e.kind === 'api') {
      try {
        const r = await withTimeout(api.run({ command: ['/bin/true'] }), 60000);
        return { ms: ms(), ok: r.exitCode === 0, error: r.exitCode === 0 ? null : `exitCode ${r.exitCode}: ${r.stderr ?? ''}` };
      } catch (err) {
        return { ms: ms(), ok: false, error: `${err?.code ?? ''} ${err?.message ?? err}` };
      }
    }
    const args = e.kind === 'cli' ? [CLI, 'run', '--rm', '--', '/bin/true'] : e.kind === 'help' ? [CLI, '--help'] : ['-e', '0'];
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60000 });
    return { ms: ms(), ok: r.status === 0, error: r.status === 0 ? null : `\`${commandLine('node', args)}\` exited ${r.status ?? r.signal}: ${r.stderr.trim()}` };
  };

  const warmup = Math.min(ctx.warmup, 2);
  log(`end-to-end: ${warmup} warm-up + ${runs} timed runs each for ${entrants.map((e) => e.name).join(', ')}`);
  for (let round = -warmup; round < runs; round++) {
    await checkInterrupted();
    for (const e of roundOrder(entrants, round)) {
      const r = await once(e);
      if (round < 0) continue;
      if (r.ok) e.samples.push(r.ms);
      else {
        e.failures++;
        e.firstError ??= typeof r.error === 'string' ? r.error : `\`${r.error.command}\` exited ${r.error.status}: ${r.error.stderr}`;
      }
    }
  }
  for (const e of entrants) {
    section.rows.push({
      name: e.name,
      samples: e.samples,
      failures: e.failures,
      note: [
        e.kind === 'runtime' ? 'busybox bundle, as in start-to-exit but without the harness namespaces' : null,
        e.kind === 'cli' ? 'fresh node process + CLI + runtime; nsbox default container (host root ro)' : null,
        e.kind === 'api' ? 'one Node process, awaited calls; nsbox default container' : null,
        e.kind === 'node' ? 'baseline included in every CLI run' : null,
        e.kind === 'help' ? 'what every CLI run pays before it does anything' : null,
        e.failures ? `${e.failures} failed; first: ${e.firstError}` : null,
      ].filter(Boolean).join('; '),
    });
  }
  section.rows.push(...skipped);
  const sweep = sweepCgroups([`nsbox-${ctx.idPrefix}`]);
  if (sweep.found.length) section.notes.push(`leftover cgroups removed: ${sweep.found.join(', ')}`);
  section.notes.push('row/ref = row median ÷ bare-runtime median (the cost of the layers above the runtime)');
  return section;
}
