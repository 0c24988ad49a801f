// Section "lifecycle" (issue 4's benchmark), nsbox against crun and runc, in the harness namespaces
// (lib/privns.mjs) with the same cgroup treatment and bundle adjustments as start-to-exit:
//  - start N detached `sleep` containers (`RUNTIME run -d`), interleaved run by run; total, per start,
//    and for nsbox the RSS (and PSS) of its monitor processes (target ≤ 2 MiB each);
//  - `exec /bin/true` into one running container, alternating;
//  - `delete -f` of each running container;
//  - `run -d` + `delete -f` round trips, and the same from one Node process through the TS API
//    (`Runtime.run` + `remove({ force: true })`) against crun's/runc's.
// nsbox rows appear when `nsbox-runtime` supports `run --detach` and `exec`; otherwise they say pending.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findAdjustments, makeBundle } from './lib/bundle.mjs';
import { sweepCgroups } from './lib/cgroups.mjs';
import { runInPrivateMountNs } from './lib/privns.mjs';
import { captureRun, cleanup, commandLine, makeRuntimes } from './lib/runtimes.mjs';
import { roundOrder, summarize } from './lib/stats.mjs';
import { checkInterrupted, envInt, log } from './lib/sys.mjs';

const SELF = fileURLToPath(import.meta.url);
const PENDING = 'pending lifecycle issue (#4)';

export default async function lifecycle(ctx) {
  const section = { title: 'lifecycle: detached containers, exec, delete, run -d + delete round trips', rows: [], notes: [], reference: 'nsbox exec' };
  if (!ctx.root) {
    section.skipped = 'needs root';
    return section;
  }
  const detached = envInt('NSBOX_BENCH_DETACHED', 100);
  const r = runInPrivateMountNs(
    SELF,
    'inner',
    { scratch: ctx.scratch, rootfs: ctx.rootfs, nsboxBin: ctx.nsboxBin, runs: ctx.runs, warmup: ctx.warmup, detached, prefix: `${ctx.idPrefix}l` },
    ctx.scratch,
  );
  section.rows = r.rows;
  section.notes = [...r.notes, `cgroups: ${r.cgroupNote}`];
  return section;
}

// stderr goes to a file, not a pipe: a detached container (or monitor) inherits the runtime's stdio, and
// a pipe it holds open would keep spawnSync waiting for EOF until the container dies.
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

const tally = () => ({ samples: [], failures: 0, firstError: null });
function record(t, r) {
  if (r.ok) t.samples.push(r.ms);
  else {
    t.failures++;
    t.firstError ??= r.error;
  }
}
const failNote = (t) => (t.failures ? `${t.failures} failed, first: ${t.firstError}` : '');
const alternate = (list, i) => roundOrder(list, i);

function kib(pid, file, key) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function monitorMemory(ids) {
  const rss = [];
  const pss = [];
  for (const id of ids) {
    try {
      const st = JSON.parse(fs.readFileSync(`/run/nsbox/${id}/state.json`, 'utf8'));
      const r = kib(st.monitorPid, 'status', 'VmRSS');
      const p = kib(st.monitorPid, 'smaps_rollup', 'Pss');
      if (r !== null) rss.push(r);
      if (p !== null) pss.push(p);
    } catch {}
  }
  return { rss, pss };
}

/**
 * 5. The same round trip from one Node process through the TS API: `Runtime.run()` of a detached
 * `sleep` (its own spec: docker's namespaces, not the bench bundle) + `remove({ force: true })`.
 */
async function tsApiTrips({ scratch, rootfs, prefix, runs, warmup, nsboxBin, peers }) {
  const name = 'TS API run -d + rm -f';
  const dist = path.join(path.dirname(SELF), '..', 'ts', 'dist', 'index.js');
  if (!fs.existsSync(dist)) return { name, skipped: 'ts/dist/index.js not built (npm run build:ts)' };
  process.env.NSBOX_RUNTIME ??= nsboxBin;
  const { Runtime } = await import(pathToFileURL(dist).href);
  const root = path.join(scratch, `${prefix}-tsroot`);
  const rt = new Runtime({ root });
  const t = tally();
  try {
    for (let round = -warmup; round < runs; round++) {
      await checkInterrupted();
      const t0 = process.hrtime.bigint();
      try {
        const c = await rt.run({ command: ['/bin/sleep', '100000'], rootfs, hostname: 'bench' });
        await c.remove({ force: true });
        if (round >= 0) record(t, { ok: true, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      } catch (e) {
        if (round >= 0) record(t, { ok: false, error: String(e?.message ?? e) });
      }
    }
  } finally {
    for (const st of rt.list({ all: true })) await rt.get(st.id).remove({ force: true }).catch(() => {});
    fs.rmSync(root, { recursive: true, force: true });
  }
  const med = (xs) => summarize(xs).median;
  const ratios = t.samples.length
    ? peers.filter(([, p]) => p.samples.length).map(([n, p]) => `÷ ${n} run -d + delete -f: ${(med(t.samples) / med(p.samples)).toFixed(2)}`)
    : [];
  return { name, reference: 'nsbox run -d + delete -f', samples: t.samples, note: ['one Node process, Runtime.run + remove({force}) per sample', ...ratios, failNote(t)].filter(Boolean).join('; ') };
}

export async function inner({ scratch, rootfs, nsboxBin, runs, warmup, detached, prefix, cgroupNote }) {
  errFile = path.join(scratch, `${prefix}-stderr`);
  errFd = fs.openSync(errFile, 'w+');
  const rows = [];
  const notes = [];
  const live = []; // [rt, id] removed at the end whatever happens
  let seq = 0;

  const all = makeRuntimes(nsboxBin).filter((r) => !r.variantOf);
  const nsbox = all.find((r) => r.name === 'nsbox-runtime');
  const { adjustments } = nsbox ? findAdjustments(nsbox, scratch, rootfs, captureRun, `${prefix}-adj`) : { adjustments: [] };
  if (adjustments.length) notes.push(`bundle adjustments (all runtimes, see start-to-exit): ${adjustments.join(', ')}`);
  const bundle = makeBundle(scratch, 'lifecycle-sleep', rootfs, { args: ['/bin/sleep', '100000'], adjustments }).dir;

  // nsbox takes part when its runtime can run detached and exec.
  const peers = all.filter((r) => r.name !== 'nsbox-runtime');
  let nsboxPending = nsbox ? null : `nsbox-runtime not built (${nsboxBin})`;
  if (nsbox) {
    const help = spawnSync(nsbox.bin, ['--help'], { encoding: 'utf8' });
    if (!/--detach/.test(`${help.stdout}${help.stderr}`) || !/\bexec\b/.test(`${help.stdout}${help.stderr}`)) nsboxPending = `${PENDING}: nsbox-runtime has no run --detach / exec yet`;
    else {
      const id = `${prefix}-probe`;
      live.push([nsbox, id]);
      const a = sh(nsbox, nsbox.argv('run', bundle, id, ['--detach']));
      let e = a;
      if (a.ok) {
        // exec must really run inside: the container's hostname is "bench"
        const args = [...nsbox.argv('exec', null, id), '/bin/hostname'];
        const x = spawnSync(nsbox.bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
        const ok = x.status === 0 && x.stdout.trim() === 'bench';
        e = { ok, error: ok ? null : `\`${commandLine(nsbox.bin, args)}\` exited ${x.status ?? x.signal}, printed ${JSON.stringify(x.stdout.trim())} (want "bench"): ${x.stderr.trim()}` };
      }
      const d = a.ok ? sh(nsbox, nsbox.deleteArgv(id)) : a;
      if (!a.ok || !e.ok || !d.ok) nsboxPending = `probe failed: ${(!a.ok ? a : !e.ok ? e : d).error}`;
    }
  }
  const rts = nsboxPending ? peers : [nsbox, ...peers];
  const short = (rt) => (rt.name === 'nsbox-runtime' ? 'nsbox' : rt.name);

  try {
    // 1. N detached containers, interleaved.
    const starts = new Map(rts.map((rt) => [rt.name, { ...tally(), ids: [] }]));
    log(`lifecycle: starting ${detached} detached sleep containers each with ${rts.map(short).join(', ')}`);
    for (let i = 0; i < detached; i++) {
      await checkInterrupted();
      for (const rt of alternate(rts, i)) {
        const id = `${prefix}-d${short(rt)}-${i}`;
        live.push([rt, id]);
        const r = sh(rt, rt.argv('run', bundle, id, ['--detach']));
        record(starts.get(rt.name), r);
        if (r.ok) starts.get(rt.name).ids.push(id);
      }
    }
    const refStart = `nsbox run -d ×${detached}`;
    if (nsboxPending) rows.push({ name: refStart, skipped: `${nsboxPending} (monitor RSS target ≤ 2 MiB each)` });
    for (const rt of rts) {
      const s = starts.get(rt.name);
      const total = s.samples.reduce((a, b) => a + b, 0);
      let mem = 'no monitor process stays behind (RSS n/a)';
      if (rt === nsbox) {
        const { rss, pss } = monitorMemory(s.ids);
        const sum = (xs) => xs.reduce((a, b) => a + b, 0);
        mem = rss.length
          ? `monitors: ${rss.length}, RSS total ${(sum(rss) / 1024).toFixed(1)} MiB, median ${(summarize(rss).median / 1024).toFixed(2)} MiB, max ${(Math.max(...rss) / 1024).toFixed(2)} MiB each; PSS total ${(sum(pss) / 1024).toFixed(1)} MiB (target RSS ≤ 2 MiB each: ${Math.max(...rss) <= 2048 ? 'met' : 'NOT met'})`
          : 'monitor memory: no monitor pids found in /run/nsbox/<id>/state.json';
        s.memory = { rssKiB: rss, pssKiB: pss };
      }
      rows.push({
        name: `${short(rt)} run -d ×${detached}`,
        reference: refStart,
        samples: s.samples,
        memory: s.memory,
        note: [`total ${(total / 1000).toFixed(2)} s for ${s.samples.length} started; per-start stats`, mem, failNote(s)].filter(Boolean).join('; '),
      });
    }

    // 2. exec /bin/true into the first running container of each runtime.
    const execs = new Map(rts.map((rt) => [rt.name, tally()]));
    log(`lifecycle: ${warmup} warm-up + ${runs} exec /bin/true each`);
    for (let round = -warmup; round < runs; round++) {
      await checkInterrupted();
      for (const rt of alternate(rts, round + warmup)) {
        const id = starts.get(rt.name).ids[0];
        if (!id) continue;
        const r = sh(rt, [...rt.argv('exec', null, id), '/bin/true']);
        if (round >= 0) record(execs.get(rt.name), r);
      }
    }
    if (nsboxPending) rows.push({ name: 'nsbox exec', skipped: nsboxPending });
    for (const rt of rts) rows.push({ name: `${short(rt)} exec`, samples: execs.get(rt.name).samples, note: failNote(execs.get(rt.name)) });

    // 3. delete -f of every running container, interleaved.
    const deletes = new Map(rts.map((rt) => [rt.name, tally()]));
    for (let i = 0; i < detached; i++) {
      await checkInterrupted();
      for (const rt of alternate(rts, i)) {
        const id = starts.get(rt.name).ids[i];
        if (id) record(deletes.get(rt.name), sh(rt, rt.deleteArgv(id)));
      }
    }
    const refDelete = 'nsbox delete -f (running)';
    if (nsboxPending) rows.push({ name: refDelete, skipped: nsboxPending });
    for (const rt of rts) {
      const d = deletes.get(rt.name);
      rows.push({ name: `${short(rt)} delete -f (running)`, reference: refDelete, samples: d.samples, note: ['per container', failNote(d)].filter(Boolean).join('; ') });
    }

    // 4. run -d + delete -f round trips, alternating.
    const trips = new Map(rts.map((rt) => [rt.name, tally()]));
    for (let round = -warmup; round < runs; round++) {
      await checkInterrupted();
      for (const rt of alternate(rts, round + warmup)) {
        const id = `${prefix}-rt${short(rt)}-${seq++}`;
        live.push([rt, id]);
        const a = sh(rt, rt.argv('run', bundle, id, ['--detach']));
        const b = a.ok ? sh(rt, rt.deleteArgv(id)) : a;
        if (round >= 0) record(trips.get(rt.name), { ok: a.ok && b.ok, ms: a.ms + b.ms, error: a.error ?? b.error });
      }
    }
    const refTrip = 'nsbox run -d + delete -f';
    if (nsboxPending) rows.push({ name: refTrip, skipped: nsboxPending });
    for (const rt of rts) {
      const t = trips.get(rt.name);
      rows.push({ name: `${short(rt)} run -d + delete -f`, reference: refTrip, samples: t.samples, note: failNote(t) });
    }
    rows.push(await tsApiTrips({ scratch, rootfs, prefix, runs, warmup, nsboxBin, peers: rts.filter((rt) => rt !== nsbox).map((rt) => [short(rt), trips.get(rt.name)]) }));
  } finally {
    let lingering = 0;
    for (const [rt, id] of live) if (cleanup(rt, id)) lingering++;
    if (lingering) notes.push(`removed ${lingering} containers still present after the section`);
    const sweep = sweepCgroups([prefix, `nsbox-${prefix}`]);
    if (sweep.found.length) notes.push(`leftover cgroups removed: ${sweep.found.length} (${sweep.found.slice(0, 2).join(', ')}…)`);
    if (sweep.errors.length) notes.push(`could not remove: ${sweep.errors.join(', ')}`);
    fs.closeSync(errFd);
  }
  notes.push('nsbox/row: the nsbox row of the same kind ÷ this row (below 1.0: nsbox faster)');
  return { rows, notes, cgroupNote };
}
