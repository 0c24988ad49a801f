// Section "pull": one ~100 MB, 5-layer image from a docker-registry on 127.0.0.1 (started here, storage
// in the scratch dir), into an empty store each run:
//  - `nsbox pull -q` (the CLI: parallel layer downloads, streamed, verified and unpacked into the store);
//  - `skopeo copy docker://… oci:DIR` (downloads and verifies, no unpacking);
//  - `podman pull` with its own --root (downloads, verifies AND unpacks every layer);
//  - `ctr images pull` against containerd 1.6 started here with private config, root and state (the
//    engine tests' harness, tests/engines/containerd.ts: a private mount namespace, stopped by PID);
//    ctr fetches and containerd unpacks into its overlayfs snapshotter, as podman does. Between runs
//    `ctr images rm --sync` empties its content store and snapshots.
// Rows alternate run by run. Layers are incompressible (AES-CTR keystream), gzip'd. After one pull each,
// the section also reports the store's disk use (du: allocated blocks) of each entrant's storage.
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { roundOrder } from './lib/stats.mjs';
import { checkInterrupted, envInt, firstLine, log, repoRoot, which } from './lib/sys.mjs';

const CLI = path.join(repoRoot, 'cli/dist/main.js');
const MB = 1 << 20;

/** 20 MB of deterministic noise per layer, so the image (and the helper's cache entry) is the same each run. */
function noise(seed, size) {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16, 0));
  return c.update(Buffer.alloc(size));
}

export default async function pullSection(ctx) {
  const title = 'pull from a local registry (~100 MB, 5 layers)';
  for (const bin of ['/usr/bin/docker-registry', 'skopeo']) {
    if (!which(path.basename(bin))) return { title, skipped: `${bin} missing (apt-get install docker-registry skopeo)` };
  }
  if (!fs.existsSync(CLI)) return { title, skipped: `${CLI} missing (npm run build:ts)` };
  const { tsImport } = await import('tsx/esm/api');
  const img = await tsImport(path.join(repoRoot, 'tests/helpers/oci-image.ts'), import.meta.url);
  const reg = await tsImport(path.join(repoRoot, 'tests/helpers/registry.ts'), import.meta.url);
  const layers = [0, 1, 2, 3, 4].map((i) => [img.file(`data/blob${i}`, noise(i + 1, 20 * MB))]);
  const image = img.busyboxImage({ name: 'localhost/nsbox-bench/pull', noBase: true, layers, cacheDir: path.join(ctx.scratch, 'image-cache') });
  const registry = await reg.startRegistry('none');
  const ref = `${registry.host}/bench/pull:1`;
  const runs = envInt('NSBOX_BENCH_PULL_RUNS', 5);
  const env = { ...process.env, NSBOX_REGISTRIES_CONFIG: path.join(ctx.scratch, 'no-registries.json'), NSBOX_AUTH_FILE: path.join(ctx.scratch, 'auth.json') };
  const spawnIt = (file, args, cmdEnv) => spawnSync(file, args, { env: cmdEnv, encoding: 'utf8', maxBuffer: 64 << 20 });
  const entrants = [
    { name: 'nsbox pull', store: (dir) => dir, pull: (dir) => spawnIt(process.execPath, [CLI, 'pull', '-q', ref], { ...env, NSBOX_STORE: dir }) },
    { name: 'skopeo copy', note: 'no unpacking', store: (dir) => `${dir}/layout`, pull: (dir) => spawnIt('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}/layout`], env) },
  ];
  if (ctx.root && which('podman')) {
    const podman = (dir, args) => spawnIt('podman', ['--root', `${dir}/root`, '--runroot', `${dir}/run`, '--storage-driver', 'overlay', ...args], env);
    entrants.push({
      name: 'podman pull',
      note: 'unpacks too',
      store: (dir) => `${dir}/root`,
      pull: (dir) => podman(dir, ['pull', '-q', '--tls-verify=false', ref]),
      clean: (dir) => podman(dir, ['system', 'reset', '-f']),
    });
  }
  let containerd;
  let containerdNote = '';
  if (ctx.root && which('containerd') && which('ctr') && which('nsenter')) {
    try {
      const cd = await tsImport(path.join(repoRoot, 'tests/engines/containerd.ts'), import.meta.url);
      const host = await tsImport(path.join(repoRoot, 'tests/engines/host.ts'), import.meta.url);
      const h = await host.EngineHost.start('pull');
      try {
        containerd = await cd.Containerd.start(h);
      } catch (e) {
        await h.close();
        throw e;
      }
      const root = path.join(h.dir, 'containerd', 'root');
      containerdNote = `containerd ${firstLine(spawnSync('containerd', ['--version'], { encoding: 'utf8' }).stdout).split(' ')[2] ?? ''}: private root/state (tests/engines/containerd.ts), overlayfs snapshotter`;
      entrants.push({
        name: 'ctr pull',
        note: 'unpacks too (containerd 1.6)',
        store: () => root,
        pull: () => containerd.ctr(['images', 'pull', '--plain-http', ref], { timeoutMs: 300_000 }),
        clean: () => {
          const rm = containerd.ctr(['images', 'rm', '--sync', ref]);
          if (rm.code !== 0) throw new Error(`ctr images rm: ${rm.stderr}`);
          const left = containerd.ctr(['content', 'ls', '-q']).stdout.trim();
          if (left) throw new Error(`ctr images rm --sync left content: ${left}`);
        },
      });
    } catch (e) {
      containerdNote = `ctr pull skipped: containerd did not start: ${e?.message ?? e}`;
    }
  }
  const rows = entrants.map((e) => ({ name: e.name, samples: [], note: e.note }));
  /** Allocated bytes under `p` (du -s -B1), once per entrant, after its first pull. */
  const diskUse = new Map();
  try {
    await reg.skopeoPush(image.layout, ref);
    const size = image.layers.reduce((n, l) => n + l.size, 0);
    log(`pull: ${ref}, ${image.layers.length} layers, ${(size / MB).toFixed(1)} MB, ${runs} runs each`);
    for (let round = 0; round < runs; round++) {
      for (const e of roundOrder(entrants, round)) {
        await checkInterrupted();
        const dir = fs.mkdtempSync(path.join(ctx.scratch, 'pull-'));
        const t0 = performance.now();
        const r = e.pull(dir);
        const ms = performance.now() - t0;
        const code = r.status ?? r.code;
        if (code !== 0) throw new Error(`${e.name}: exit ${code}: ${r.stderr}`);
        rows.find((x) => x.name === e.name).samples.push(ms);
        if (!diskUse.has(e.name)) {
          const du = spawnSync('du', ['-s', '-B1', e.store(dir)], { encoding: 'utf8' });
          diskUse.set(e.name, du.status === 0 ? Number(du.stdout.split(/\s/)[0]) : NaN);
        }
        e.clean?.(dir);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    const failures = [];
    if (containerd) {
      const report = await containerd.stop().catch((e) => ({ error: String(e) }));
      if (report.error || report.leftoverTasks?.length) failures.push(`stopping containerd: ${JSON.stringify(report)}`);
    }
    await registry.stop().catch((e) => failures.push(String(e)));
    if (failures.length) log(`pull: teardown: ${failures.join('; ')}`);
  }
  const imageBytes = image.layers.reduce((n, l) => n + l.size, 0);
  const du = [...diskUse].map(([name, bytes]) => `${name} ${(bytes / MB).toFixed(1)} MiB`).join(', ');
  log(`pull: store disk use after one pull: ${du}`);
  return {
    title,
    reference: 'nsbox pull',
    rows,
    notes: [
      'nsbox pull downloads, verifies and unpacks into the content store, as podman pull does; skopeo copy only downloads and verifies',
      'each run starts with an empty store; the registry runs on 127.0.0.1 (docker-registry, plain HTTP)',
      `store disk use after one pull (du -s -B1; the image is ${(imageBytes / MB).toFixed(1)} MiB compressed): ${du}`,
      ...(containerdNote ? [containerdNote] : []),
    ],
  };
}
