// Section "images": the cost of an image root against the same files given as a directory.
//  - `run({ image, command: ['/bin/true'] })`: the container's writable layer made in the store, the
//    overlay mounted by the runtime inside the container's mount namespace, the layer removed after;
//  - reference: `run({ rootfs, command: ['/bin/true'] })` with the image's one unpacked layer directory;
//  - `loadImage()` of a docker archive of the busybox rootfs into an empty store (blob hashing, unpacking);
//  - `crun run` of /bin/true on an overlay bundle: the same layer directory as the lowerdir of an overlay
//    the bench mounts (upper and work dir in the scratch dir) in a private mount namespace
//    (lib/privns.mjs, where crun works on this machine), as an engine would before calling crun; the
//    overlay is mounted once, so crun's row holds no mount cost, nsbox's image row does.
// The two run() rows alternate in this one Node process (the TS API built in ts/dist); crun's row runs
// after them in the private namespace. The targets: within 2 ms of --rootfs, below crun.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeBundle } from './lib/bundle.mjs';
import { runInPrivateMountNs } from './lib/privns.mjs';
import { makeRuntimes, timedRun } from './lib/runtimes.mjs';
import { roundOrder } from './lib/stats.mjs';
import { checkInterrupted, log, repoRoot, which } from './lib/sys.mjs';

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

export default async function images(ctx) {
  const section = { title: 'images: run from an image vs the same files as --rootfs; load', rows: [], notes: [], reference: 'run({ rootfs })', ratioMode: 'row/ref' };
  if (!ctx.root) return { ...section, skipped: 'needs root (images are root-only for now)' };
  const p = path.join(repoRoot, 'ts/dist/index.js');
  if (!fs.existsSync(p)) return { ...section, skipped: 'ts/dist/index.js not built (npm run build:ts)' };
  const api = await import(pathToFileURL(p).href);
  const dir = fs.mkdtempSync(path.join(ctx.scratch, 'images-'));
  const { archive, diffId, bytes } = dockerArchive(ctx.rootfs, dir);
  const store = path.join(dir, 'store');
  const load = { name: 'loadImage() (docker archive, empty store)', samples: [], note: `${(bytes / 1e6).toFixed(1)} MB layer` };
  for (let i = 0; i < 5; i++) {
    const s = path.join(dir, `load-${i}`);
    const t0 = performance.now();
    await api.loadImage(archive, { store: s });
    load.samples.push(performance.now() - t0);
    fs.rmSync(s, { recursive: true, force: true });
  }
  await api.loadImage(archive, { store });
  const rootfs = path.join(store, 'layers', diffId.slice('sha256:'.length));
  const entrants = [
    { name: 'run({ image })', samples: [], go: () => api.run({ image: REF, store, command: ['/bin/true'] }), note: 'overlay root made inside the container' },
    { name: 'run({ rootfs })', samples: [], go: () => api.run({ rootfs, command: ['/bin/true'] }), note: 'the image\'s layer directory' },
  ];
  const runs = ctx.e2eRuns;
  log(`images: ${runs} timed runs each, alternating`);
  for (let round = -2; round < runs; round++) {
    await checkInterrupted();
    for (const e of roundOrder(entrants, round)) {
      const t0 = performance.now();
      const r = await e.go();
      if (r.exitCode !== 0) throw new Error(`${e.name}: exit code ${r.exitCode}: ${r.stderr}`);
      if (round >= 0) e.samples.push(performance.now() - t0);
    }
  }
  section.rows.push(...entrants.map(({ go: _g, ...e }) => e));
  if (which('crun')) {
    try {
      const r = runInPrivateMountNs(SELF, 'crunOverlay', { scratch: dir, layer: rootfs, runs, prefix: ctx.idPrefix }, ctx.scratch);
      section.rows.push(r.row);
      section.notes.push(`crun: ${r.cgroupNote}`);
    } catch (e) {
      section.rows.push({ name: 'crun run (overlay bundle)', skipped: e.message });
    }
  } else section.rows.push({ name: 'crun run (overlay bundle)', skipped: 'crun missing' });
  section.rows.push({ ...load, baseline: true });
  const left = fs.readdirSync(path.join(store, 'containers'));
  if (left.length) section.notes.push(`warning: writable layers left in the store: ${left.join(', ')}`);
  fs.rmSync(dir, { recursive: true, force: true });
  section.notes.push('row/ref = row median ÷ run({ rootfs }) median; the target is within 2 ms');
  return section;
}

/**
 * In the private mount namespace (lib/privns.mjs): an overlay over the image's layer directory on the
 * bundle's rootfs (writable root, as an image's is), then `crun run` of /bin/true `runs` times (2 warm-up).
 * The namespace and the overlay go away when the worker exits.
 */
export async function crunOverlay({ scratch, layer, runs, prefix, cgroupNote }) {
  const crun = makeRuntimes(null).find((r) => r.name === 'crun');
  const base = path.join(scratch, 'crun-overlay');
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => path.join(base, d));
  for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
  const m = spawnSync('mount', ['-t', 'overlay', '-o', `lowerdir=${layer},upperdir=${upper},workdir=${work}`, 'nsbench-overlay', merged], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`mount overlay (bench, private mount ns): ${m.stderr.trim()}`);
  const bundle = makeBundle(scratch, 'crun-overlay-bundle', merged);
  const cfg = path.join(bundle.dir, 'config.json');
  const spec = JSON.parse(fs.readFileSync(cfg, 'utf8'));
  spec.root.readonly = false;
  fs.writeFileSync(cfg, JSON.stringify(spec, null, 2));
  const row = { name: 'crun run (overlay bundle)', samples: [], note: 'overlay mounted once by the bench; crun 1.8' };
  for (let i = -2; i < runs; i++) {
    const r = timedRun(crun, bundle.dir, `${prefix}-imgcrun-${i + 2}`);
    if (!r.ok) throw new Error(`${r.error.command}: exit ${r.error.status ?? r.error.signal}: ${r.error.stderr}`);
    if (i >= 0) row.samples.push(r.ms);
  }
  const u = spawnSync('umount', [merged], { encoding: 'utf8' });
  if (u.status !== 0) throw new Error(`umount ${merged}: ${u.stderr.trim()}`);
  return { row, cgroupNote };
}
