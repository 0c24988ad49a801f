// Section "images": the cost of an image root against the same files given as a directory.
//  - `run({ image, command: ['/bin/true'] })`: the container's writable layer made in the store, the
//    overlay mounted by the runtime inside the container's mount namespace, the layer removed after;
//  - reference: `run({ rootfs, command: ['/bin/true'] })` with the image's one unpacked layer directory;
//  - `crun run` of /bin/true on an overlay bundle: the same layer directory as the lowerdir of an overlay
//    the bench mounts once (upper and work dir beside the store), as an engine would before calling
//    crun; mounted once, so crun's row holds no mount and no layer-directory cost, nsbox's image row does;
//  - `loadImage()` of a docker archive of the busybox rootfs into an empty store (blob hashing, unpacking).
// All timed rows run interleaved (a new shuffled order every round) in ONE process, a private mount
// namespace (lib/privns.mjs, where crun works on this machine), so no row is timed at a quieter moment
// than another. The store is measured twice: on a tmpfs mounted in that namespace (what the runtime and
// the library cost), and on the scratch directory's own filesystem (this machine's ext4 disk, shared
// with everyone's builds; ext4 mounted `discard` without a journal): there every freed directory block
// is a synchronous discard (so a foreground run deletes its writable layer after reporting the exit)
// and every inode made scans past the recently deleted ones (the overlay's mount: ~1.9 ms against
// 0.15 on the tmpfs); bench/README.md, "Images". The targets (within 2 ms of --rootfs, below
// crun) are judged on the tmpfs rows.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeBundle } from './lib/bundle.mjs';
import { runInPrivateMountNs } from './lib/privns.mjs';
import { makeRuntimes, timedRun } from './lib/runtimes.mjs';
import { roundOrder, summarize } from './lib/stats.mjs';
import { log, repoRoot, which } from './lib/sys.mjs';

const SELF = fileURLToPath(import.meta.url);

const REF = 'localhost/nsbench/busybox:latest';

/** A docker archive of `rootfs` (one layer), written with GNU tar (bench may; product code never does). */
function dockerArchive(rootfs, dir) {
  const layer = path.join(dir, 'layer.tar');
  const t = spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', layer, '.'], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`tar: ${t.stderr}`);
  const diffId = `sha256:${createHash('sha256').update(fs.readFileSync(layer)).digest('hex')}`;
  const config = { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [diffId] } };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [REF], Layers: ['layer.tar'] }]));
  const out = path.join(dir, 'image.tar');
  const a = spawnSync('tar', ['-C', dir, '-cf', out, 'manifest.json', 'config.json', 'layer.tar'], { encoding: 'utf8' });
  if (a.status !== 0) throw new Error(`tar: ${a.stderr}`);
  return { archive: out, diffId, bytes: fs.statSync(layer).size };
}

const api = () => import(pathToFileURL(path.join(repoRoot, 'ts/dist/index.js')).href);

export default async function images(ctx) {
  const section = { title: 'images: run from an image vs the same files as --rootfs; load', rows: [], notes: [], reference: 'run({ rootfs }), tmpfs', ratioMode: 'row/ref' };
  if (!ctx.root) return { ...section, skipped: 'needs root (images are root-only for now)' };
  if (!fs.existsSync(path.join(repoRoot, 'ts/dist/index.js'))) return { ...section, skipped: 'ts/dist/index.js not built (npm run build:ts)' };
  const { loadImage } = await api();
  const dir = fs.mkdtempSync(path.join(ctx.scratch, 'images-'));
  const { archive, diffId, bytes } = dockerArchive(ctx.rootfs, dir);
  const load = { name: 'loadImage() (docker archive, empty store)', samples: [], note: `${(bytes / 1e6).toFixed(1)} MB layer, store on disk` };
  for (let i = 0; i < 5; i++) {
    const s = path.join(dir, `load-${i}`);
    const t0 = performance.now();
    await loadImage(archive, { store: s });
    load.samples.push(performance.now() - t0);
    fs.rmSync(s, { recursive: true, force: true });
  }
  const fsType = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim() || '?';
  log(`images: ${ctx.e2eRuns} timed runs each, interleaved, in a private mount namespace`);
  try {
    const r = runInPrivateMountNs(SELF, 'timeAll', { dir, archive, diffId, runs: ctx.e2eRuns, prefix: ctx.idPrefix, crun: Boolean(which('crun')), nsboxBin: ctx.nsboxBin }, ctx.scratch);
    section.rows.push(...r.rows);
    const med = (name) => { const row = r.rows.find((x) => x.name === name); return row?.samples.length ? summarize(row.samples).median : NaN; };
    const gap = (a, b) => `${(med(a) - med(b)).toFixed(1)} ms`;
    section.notes.push(
      ...r.notes,
      `image − rootfs, by median: tmpfs ${gap('run({ image }), tmpfs', 'run({ rootfs }), tmpfs')} (target ≤ 2), disk ${gap('run({ image }), disk', 'run({ rootfs }), disk')}`,
      `nsbox-runtime (mounting the overlay) / crun (overlay mounted once) = ${(med('nsbox-runtime run (overlay annotation), tmpfs') / med('crun run (overlay bundle), tmpfs')).toFixed(2)} by median (target < 1)`,
      `crun: ${r.cgroupNote}`,
    );
  } catch (e) {
    section.rows.push({ name: 'run({ image })', skipped: e.message });
  }
  section.rows.push({ ...load, baseline: true });
  fs.rmSync(dir, { recursive: true, force: true });
  section.notes.push(`row/ref = row median ÷ the run({ rootfs }) median with the same store placement; the target is within 2 ms (tmpfs rows); "disk" is ${fsType} here`);
  return section;
}

/**
 * In the private mount namespace (lib/privns.mjs): the image loaded into a store on a tmpfs mounted
 * here and into one on the scratch dir's disk; the crun bundle's overlay (upper, work on the tmpfs);
 * then every row interleaved, 2 warm-up rounds. The namespace and its mounts go when the worker exits.
 */
export async function timeAll({ dir, archive, diffId, runs, prefix, crun: haveCrun, nsboxBin, cgroupNote }) {
  const { loadImage, run } = await api();
  const tmpfs = path.join(dir, 'tmpfs');
  fs.mkdirSync(tmpfs);
  const t = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'nsbench-images', tmpfs], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`mount tmpfs (bench, private mount ns): ${t.stderr.trim()}`);
  const layerOf = (store) => path.join(store, 'layers', diffId.slice('sha256:'.length));
  const entrants = [];
  const notes = [];
  for (const [where, store] of [['tmpfs', path.join(tmpfs, 'store')], ['disk', path.join(dir, 'store')]]) {
    await loadImage(archive, { store });
    const rootfs = layerOf(store);
    entrants.push(
      { name: `run({ image }), ${where}`, reference: `run({ rootfs }), ${where}`, samples: [], go: () => run({ image: REF, store, pull: 'never', command: ['/bin/true'] }), note: 'writable layer made, overlay mounted inside the container, layer removed', store },
      { name: `run({ rootfs }), ${where}`, reference: `run({ rootfs }), ${where}`, samples: [], go: () => run({ rootfs, command: ['/bin/true'] }), note: 'the image\'s layer directory' },
    );
  }
  // The runtimes alone, spawned from here with the same config: crun on the overlay the bench mounted
  // once; nsbox-runtime mounting it itself, inside the container, from nsbox's overlay annotation (the
  // same layer; upper and work kept between runs, as they are not a container's own layer to remove).
  const timedEntrant = (rt, name, bundleDir, note) => {
    let n = 0;
    return {
      name, reference: 'run({ rootfs }), tmpfs', samples: [], note,
      go: () => {
        const r = timedRun(rt, bundleDir, `${prefix}-img${rt.name.replace(/\W/g, '')}-${n++}`);
        if (!r.ok) throw new Error(`${r.error.command}: exit ${r.error.status ?? r.error.signal}: ${r.error.stderr}`);
        return { exitCode: 0, ms: r.ms };
      },
    };
  };
  const nsbox = makeRuntimes(nsboxBin).find((r) => r.name === 'nsbox-runtime');
  if (nsbox) {
    const base = path.join(tmpfs, 'nsbox-overlay');
    const [upper, work, root] = ['upper', 'work', 'root'].map((d) => path.join(base, d));
    for (const d of [upper, work, root]) fs.mkdirSync(d, { recursive: true });
    const bundle = makeBundle(tmpfs, 'nsbox-overlay-bundle', root);
    const cfg = path.join(bundle.dir, 'config.json');
    const spec = JSON.parse(fs.readFileSync(cfg, 'utf8'));
    spec.root.readonly = false;
    spec.annotations = { ...spec.annotations, 'org.nsbox.rootfs.overlay': JSON.stringify({ lowerdirs: [layerOf(path.join(tmpfs, 'store'))], upperdir: upper, workdir: work }) };
    fs.writeFileSync(cfg, JSON.stringify(spec, null, 2));
    entrants.push(timedEntrant(nsbox, 'nsbox-runtime run (overlay annotation), tmpfs', bundle.dir, 'the runtime mounts the overlay in each container'));
  }
  let merged = null;
  if (haveCrun) {
    const crun = makeRuntimes(null).find((r) => r.name === 'crun');
    const base = path.join(tmpfs, 'crun-overlay');
    const [upper, work] = ['upper', 'work'].map((d) => path.join(base, d));
    merged = path.join(base, 'merged');
    for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
    const m = spawnSync('mount', ['-t', 'overlay', '-o', `lowerdir=${layerOf(path.join(tmpfs, 'store'))},upperdir=${upper},workdir=${work}`, 'nsbench-overlay', merged], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`mount overlay (bench, private mount ns): ${m.stderr.trim()}`);
    const bundle = makeBundle(tmpfs, 'crun-overlay-bundle', merged);
    const cfg = path.join(bundle.dir, 'config.json');
    const spec = JSON.parse(fs.readFileSync(cfg, 'utf8'));
    spec.root.readonly = false;
    fs.writeFileSync(cfg, JSON.stringify(spec, null, 2));
    entrants.push(timedEntrant(crun, 'crun run (overlay bundle), tmpfs', bundle.dir, 'overlay mounted once by the bench; crun 1.8'));
  } else notes.push('crun missing: no crun row');
  for (let round = -2; round < runs; round++) {
    for (const e of roundOrder(entrants, round)) {
      const t0 = performance.now();
      const r = await e.go();
      const ms = r.ms ?? performance.now() - t0;
      if (r.exitCode !== 0) throw new Error(`${e.name}: exit code ${r.exitCode}: ${r.stderr}`);
      if (round >= 0) e.samples.push(ms);
    }
  }
  for (const e of entrants.filter((x) => x.store)) {
    const left = fs.readdirSync(path.join(e.store, 'containers'));
    if (left.length) notes.push(`warning: writable layers left in the ${e.name} store: ${left.join(', ')}`);
  }
  if (merged) spawnSync('umount', [merged]);
  spawnSync('umount', ['-l', tmpfs]);
  return { rows: entrants.map(({ go: _g, store: _s, ...e }) => e), notes, cgroupNote };
}
