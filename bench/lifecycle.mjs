// Section "lifecycle" (issue 4's benchmark). Baselines for crun and runc, measured now; the nsbox rows
// stay "pending" until nsbox has detached containers and exec.
//  - start N detached `sleep` containers (`RUNTIME run -d`), interleaved crun/runc, total and per-start
//    median; then `delete -f` of all of them;
//  - `exec /bin/true` into one running container, alternating crun exec / runc exec run by run;
//  - `run -d` + `delete -f` round trips (the TS API's `run -d` + `rm -f` will be compared with these).
// Runs in the harness namespaces (lib/privns.mjs) with the same cgroup treatment as start-to-exit.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBundle } from './lib/bundle.mjs';
import { sweepCgroups } from './lib/cgroups.mjs';
import { runInPrivateMountNs } from './lib/privns.mjs';
import { cleanup, commandLine, makeRuntimes } from './lib/runtimes.mjs';
import { checkInterrupted, envInt, log } from './lib/sys.mjs';
import { summarize } from './lib/stats.mjs';

const SELF = fileURLToPath(import.meta.url);
const PENDING = 'pending lifecycle issue (#4): nsbox has no detached containers / exec yet';

export default async function lifecycle(ctx) {
  const section = { title: 'lifecycle: detached containers, exec, run -d + delete round trips', rows: [], notes: [], reference: 'nsbox exec' };
  if (!ctx.root) {
    section.skipped = 'needs root';
    return section;
  }
  const sleep = makeBundle(ctx.scratch, 'lifecycle-sleep', ctx.rootfs, { args: ['/bin/sleep', '100000'] });
  const detached = envInt('NSBOX_BENCH_DETACHED', 100);
  const r = runInPrivateMountNs(SELF, 'inner', { bundle: sleep.dir, scratch: ctx.scratch, runs: ctx.runs, warmup: ctx.warmup, detached, prefix: `${ctx.idPrefix}l` }, ctx.scratch);
  section.rows = r.rows;
  section.notes = [...r.notes, `cgroups: ${r.cgroupNote}`];
  return section;
}

// stderr goes to a file, not a pipe: a detached container inherits the runtime's stdio, and a pipe it
// holds open would keep spawnSync waiting for EOF until the container dies.
let errFile = null;
let errFd = null;
function sh(rt, args) {
  fs.ftruncateSync(errFd, 0);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(rt.bin, args, { stdio: ['ignore', 'ignore', errFd], timeout: 60000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const ok = !r.error && r.status === 0;
  if (ok) return { ms, ok, error: null };
  const stderr = fs.readFileSync(errFile, 'utf8').trim().split('\n').slice(-2).join(' | ') || String(r.error ?? '');
  return { ms, ok, error: `\`${commandLine(rt.bin, args)}\` exited ${r.status ?? r.signal}: ${stderr}` };
}

export async function inner({ bundle, runs, warmup, detached, prefix, cgroupNote, scratch }) {
  errFile = path.join(scratch, `${prefix}-stderr`);
  errFd = fs.openSync(errFile, 'w+');
  const peers = makeRuntimes(null).filter((r) => r.name === 'crun' || r.name === 'runc');
  const rows = [];
  const notes = [];
  const live = []; // [rt, id] to delete at the end whatever happens

  try {
    // 1. N detached containers, interleaved.
    const starts = new Map(peers.map((p) => [p.name, { samples: [], failures: 0, firstError: null, ids: [] }]));
    log(`lifecycle: starting ${detached} detached sleep containers each with ${peers.map((p) => p.name).join(', ')}`);
    for (let i = 0; i < detached; i++) {
      checkInterrupted();
      for (const rt of i % 2 ? [...peers].reverse() : peers) {
        const id = `${prefix}-d${rt.name}-${i}`;
        const s = starts.get(rt.name);
        const r = sh(rt, rt.argv('run', bundle, id, ['--detach']));
        live.push([rt, id]);
        if (r.ok) {
          s.samples.push(r.ms);
          s.ids.push(id);
        } else {
          s.failures++;
          s.firstError ??= r.error;
        }
      }
    }
    const deletes = new Map();
    for (const rt of peers) {
      const s = starts.get(rt.name);
      const total = s.samples.reduce((a, b) => a + b, 0);
      rows.push({
        name: `${rt.name} run -d ×${detached}`,
        samples: s.samples,
        failures: s.failures,
        note: `total ${(total / 1000).toFixed(2)} s for ${s.samples.length} started; median/p90 are per start; no monitor process stays behind (RSS n/a)${s.failures ? `; ${s.failures} failed, first: ${s.firstError}` : ''}`,
      });
    }
    rows.push({ name: `nsbox run -d ×${detached}`, skipped: `${PENDING} (monitor RSS target ≤ 2 MiB each)` });

    // 2. exec into one running container of each peer (the first one that started).
    const target = new Map(peers.map((p) => [p.name, starts.get(p.name).ids[0]]));
    const execs = new Map(peers.map((p) => [p.name, { samples: [], failures: 0, firstError: null }]));
    log(`lifecycle: ${warmup} warm-up + ${runs} exec /bin/true each`);
    for (let round = -warmup; round < runs; round++) {
      checkInterrupted();
      for (const rt of round % 2 ? [...peers].reverse() : peers) {
        const id = target.get(rt.name);
        if (!id) continue;
        const r = sh(rt, [...rt.argv('exec', null, id).slice(0, -1), id, '/bin/true']);
        if (round < 0) continue;
        const e = execs.get(rt.name);
        if (r.ok) e.samples.push(r.ms);
        else {
          e.failures++;
          e.firstError ??= r.error;
        }
      }
    }
    rows.push({ name: 'nsbox exec', skipped: PENDING });
    for (const rt of peers) {
      const e = execs.get(rt.name);
      rows.push({ name: `${rt.name} exec`, samples: e.samples, failures: e.failures, note: e.failures ? `${e.failures} failed, first: ${e.firstError}` : '' });
    }

    // 3. delete -f of all detached containers (timed per delete, interleaved).
    for (const rt of peers) deletes.set(rt.name, { samples: [], failures: 0, firstError: null });
    for (let i = 0; i < detached; i++) {
      for (const rt of i % 2 ? [...peers].reverse() : peers) {
        const id = starts.get(rt.name).ids[i];
        if (!id) continue;
        const r = sh(rt, rt.deleteArgv(id));
        const d = deletes.get(rt.name);
        if (r.ok) d.samples.push(r.ms);
        else {
          d.failures++;
          d.firstError ??= r.error;
        }
      }
    }
    for (const rt of peers) {
      const d = deletes.get(rt.name);
      rows.push({ name: `${rt.name} delete -f (running)`, samples: d.samples, failures: d.failures, note: `per container${d.failures ? `; ${d.failures} failed, first: ${d.firstError}` : ''}` });
    }

    // 4. run -d + delete -f round trips, alternating.
    const trips = new Map(peers.map((p) => [p.name, { samples: [], failures: 0, firstError: null }]));
    let seq = 0;
    for (let round = -warmup; round < runs; round++) {
      checkInterrupted();
      for (const rt of round % 2 ? [...peers].reverse() : peers) {
        const id = `${prefix}-rt${rt.name}-${seq++}`;
        live.push([rt, id]);
        const a = sh(rt, rt.argv('run', bundle, id, ['--detach']));
        const b = a.ok ? sh(rt, rt.deleteArgv(id)) : { ms: 0, ok: false, error: null };
        if (round < 0) continue;
        const t = trips.get(rt.name);
        if (a.ok && b.ok) t.samples.push(a.ms + b.ms);
        else {
          t.failures++;
          t.firstError ??= a.error ?? b.error;
        }
      }
    }
    rows.push({ name: 'TS API run -d + rm -f', skipped: PENDING });
    for (const rt of peers) {
      const t = trips.get(rt.name);
      rows.push({ name: `${rt.name} run -d + delete -f`, samples: t.samples, failures: t.failures, note: t.failures ? `${t.failures} failed, first: ${t.firstError}` : '' });
    }
  } finally {
    let lingering = 0;
    for (const [rt, id] of live) if (cleanup(rt, id)) lingering++;
    if (lingering) notes.push(`removed ${lingering} containers left after the section`);
    const sweep = sweepCgroups([prefix, `nsbox-${prefix}`]);
    if (sweep.found.length) notes.push(`leftover cgroups removed: ${sweep.found.length}`);
    if (sweep.errors.length) notes.push(`could not remove: ${sweep.errors.join(', ')}`);
  }
  notes.push('ratios stay empty until the nsbox rows exist; then nsbox/row as in start-to-exit');
  return { rows, notes, cgroupNote };
}
