// Section "pull": one ~100 MB, 5-layer image from a docker-registry on 127.0.0.1 (started here, storage
// in the scratch dir), into an empty store each run:
//  - `nsbox pull -q` (the CLI: parallel layer downloads streamed into the store and verified);
//  - `skopeo copy docker://… oci:DIR` (downloads and verifies, no unpacking);
//  - `podman pull` with its own --root (downloads, verifies AND unpacks every layer).
// Until the content store lands (issue #12's other half), nsbox's store is the registry side's test
// double, which hashes layers but does not unpack them: so skopeo is the fair peer today and podman
// the target. Rows alternate run by run. Layers are incompressible (AES-CTR keystream), gzip'd.
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { roundOrder } from './lib/stats.mjs';
import { checkInterrupted, envInt, log, repoRoot, which } from './lib/sys.mjs';

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
  const entrants = [
    { name: 'nsbox pull', cmd: (dir) => [process.execPath, [CLI, 'pull', '-q', ref], { ...env, NSBOX_STORE: dir }] },
    { name: 'skopeo copy', cmd: (dir) => ['skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}/layout`], env] },
  ];
  if (ctx.root && which('podman')) {
    entrants.push({
      name: 'podman pull',
      note: 'unpacks too',
      cmd: (dir) => ['podman', ['--root', `${dir}/root`, '--runroot', `${dir}/run`, '--storage-driver', 'overlay', 'pull', '-q', '--tls-verify=false', ref], env],
    });
  }
  const rows = entrants.map((e) => ({ name: e.name, samples: [], note: e.note }));
  try {
    await reg.skopeoPush(image.layout, ref);
    const size = image.layers.reduce((n, l) => n + l.size, 0);
    log(`pull: ${ref}, ${image.layers.length} layers, ${(size / MB).toFixed(1)} MB, ${runs} runs each`);
    for (let round = 0; round < runs; round++) {
      for (const e of roundOrder(entrants, round)) {
        await checkInterrupted();
        const dir = fs.mkdtempSync(path.join(ctx.scratch, 'pull-'));
        const [file, args, cmdEnv] = e.cmd(dir);
        const t0 = performance.now();
        const r = spawnSync(file, args, { env: cmdEnv, encoding: 'utf8' });
        const ms = performance.now() - t0;
        if (r.status !== 0) throw new Error(`${e.name}: exit ${r.status}: ${r.stderr}`);
        rows.find((x) => x.name === e.name).samples.push(ms);
        if (e.name === 'podman pull') spawnSync('podman', ['--root', `${dir}/root`, '--runroot', `${dir}/run`, 'system', 'reset', '-f'], { stdio: 'ignore' });
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await registry.stop();
  }
  return {
    title,
    reference: 'nsbox pull',
    rows,
    notes: [
      'nsbox pull downloads, verifies and unpacks into the content store, as podman pull does; skopeo copy only downloads and verifies',
      'each run starts with an empty store; the registry runs on 127.0.0.1 (docker-registry, plain HTTP)',
    ],
  };
}
