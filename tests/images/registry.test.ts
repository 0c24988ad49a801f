/**
 * Pulling from a real registry (Debian's docker-registry on 127.0.0.1, plain HTTP, helpers/registry.ts)
 * through the library and the CLI: digests match what skopeo pushed, every blob in the store hashes
 * to its name and every layer's diff id to the config's, a corrupted blob is refused naming its
 * digest, an index resolves per platform, zstd layers, and a mirror serving docker.io names. Nothing
 * here goes beyond 127.0.0.1 (the mirror test pulls only what the mirror has).
 * CI budget: ~20 s (one registry, skopeo pushes of a 2 MB image).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

import test from 'ava';

import { ImageError, pull, type ProgressEvent } from '../../ts/src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { storeNames } from './helpers.js';
import { busyboxImage, file, goArch, MEDIA, multiPlatformLayout, sha256, whiteout } from '../helpers/oci-image.js';
import { rawPush, skopeoPush, startRegistry, type Registry, isolatedRegistryEnv } from '../helpers/registry.js';

const { scratch, newRoot } = isolatedRegistryEnv('nsbox-registry-test');

const image = busyboxImage({ layers: [[file('etc/motd', 'hello\n'), file('data/a', 'a\n')], [whiteout('etc/motd'), file('data/b', 'b\n')]] });
let reg: Registry;

test.before(async () => {
  reg = await startRegistry('none');
  await skopeoPush(image.layout, `${reg.host}/nsbox/busybox:latest`);
});

test.after.always(async () => {
  await reg?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const sha = (f: string) => `sha256:${createHash('sha256').update(readFileSync(f)).digest('hex')}`;

/** Every blob the store double holds hashes to its name. */
function assertStoreVerified(t: import('ava').ExecutionContext, root: string): number {
  const dir = path.join(root, 'blobs', 'sha256');
  const names = readdirSync(dir);
  for (const n of names) t.is(sha(path.join(dir, n)), `sha256:${n}`);
  t.deepEqual(readdirSync(path.join(root, 'tmp')), [], 'no half-written blob is left');
  return names.length;
}

test('pull through the library: digests, verified blobs, diff ids, progress, then up to date', async (t) => {
  if (!needsRoot(t)) return;
  const root = newRoot();
  const events: ProgressEvent[] = [];
  const r = await pull(`${reg.host}/nsbox/busybox`, { store: root, onProgress: (e) => events.push(e) });
  t.is(r.reference, `${reg.host}/nsbox/busybox:latest`);
  t.is(r.digest, image.manifestDigest);
  t.is(r.manifest, image.manifestDigest);
  t.is(r.config, image.configDigest);
  t.deepEqual(r.layers.map((l) => [l.digest, l.diffId]), image.layers.map((l) => [l.digest, l.diffId]));
  t.true(r.downloaded);
  t.is(assertStoreVerified(t, root), image.layers.length + 2, 'layers, config and manifest stored');
  t.is(events[0]?.kind, 'resolved');
  for (const l of image.layers) {
    const states = events.filter((e) => e.kind === 'layer' && e.digest === l.digest).map((e) => (e.kind === 'layer' ? e.state : ''));
    t.deepEqual([states[0], states.at(-1)], ['waiting', 'complete'], l.digest);
    t.true(states.includes('downloading'));
  }
  const again = await pull(`${reg.host}/nsbox/busybox:latest`, { store: root });
  t.false(again.downloaded);
  t.true(again.layers.every((l) => l.existed));
  const byDigest = await pull(`${reg.host}/nsbox/busybox@${image.manifestDigest}`, { store: root });
  t.is(byDigest.manifest, image.manifestDigest);
});

test('pull through the CLI: docker lines, -q, and exit 125 naming the reference for an unknown tag', async (t) => {
  if (!needsRoot(t)) return;
  const env = { ...process.env, NSBOX_STORE: newRoot() };
  const ref = `${reg.host}/nsbox/busybox`;
  const r = await runCli(['pull', ref], { env });
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], 'Using default tag: latest');
  t.is(lines[1], 'latest: Pulling from nsbox/busybox');
  for (const l of image.layers) t.true(lines.includes(`${l.digest.slice(7, 19)}: Pull complete`), r.stdout);
  t.true(lines.includes(`Digest: ${image.manifestDigest}`));
  t.true(lines.includes(`Status: Downloaded newer image for ${ref}:latest`));
  t.is(lines.at(-1), `${ref}:latest`);
  const q = await runCli(['pull', '-q', `${ref}:latest`], { env });
  t.is(q.stdout, `${ref}:latest\n`);
  const missing = await runCli(['pull', `${ref}:nope`], { env });
  t.is(missing.code, 125);
  t.regex(missing.stderr, new RegExp(`^nsbox: pull: ERR_IMAGE_NOT_FOUND: ${reg.host}/nsbox/busybox:nope: manifest unknown`));
  t.is(missing.stderr.trim().split('\n').length, 1);
  const noRepo = await runCli(['pull', `${reg.host}/nsbox/absent`], { env });
  t.is(noRepo.code, 125);
  t.regex(noRepo.stderr, /ERR_IMAGE_NOT_FOUND: .*nsbox\/absent:latest/);
  const bad = await runCli(['pull', 'team/Case'], { env });
  t.is(bad.code, 125);
  t.regex(bad.stderr, /invalid reference format: repository name \(team\/Case\) must be lowercase/);
  const unreachable = await runCli(['pull', '127.0.0.1:1/x'], { env });
  t.is(unreachable.code, 125);
  t.regex(unreachable.stderr, /ERR_REGISTRY_UNREACHABLE: 127\.0\.0\.1:1\/x:latest: registry 127\.0\.0\.1:1 unreachable/);
});

test('a corrupted blob in the registry is refused naming its digest, and nothing of it is kept', async (t) => {
  if (!needsRoot(t)) return;
  const img = busyboxImage({ tag: 'corrupt', layers: [[file('corrupt-me', `unique ${scratch}\n`)]] });
  await skopeoPush(img.layout, `${reg.host}/nsbox/corrupt:1`);
  const victim = img.layers.at(-1)!;
  const data = reg.blobPath(victim.digest);
  const bytes = readFileSync(data);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(data, bytes);
  const root = newRoot();
  const err = await t.throwsAsync(pull(`${reg.host}/nsbox/corrupt:1`, { store: root }));
  t.true(err instanceof ImageError);
  t.is((err as ImageError).code, 'ERR_DIGEST_MISMATCH', err!.message);
  t.true(err!.message.includes(victim.digest), err!.message);
  t.true(err!.message.includes(`${reg.host}/nsbox/corrupt:1`));
  t.false(existsSync(path.join(root, 'blobs', 'sha256', victim.digest.slice(7))));
  t.deepEqual(storeNames(root), [], 'no tag for a failed pull');
  assertStoreVerified(t, root);
});

test('a corrupted manifest, and a config whose diff_ids lie, are refused naming the digests', async (t) => {
  if (!needsRoot(t)) return;
  const img = busyboxImage({ tag: 'badman', noBase: true, compression: 'none', layers: [[file('m', `manifest ${scratch}\n`)]] });
  await rawPush(img.layout, reg.host, 'nsbox/badman', '1');
  const data = reg.blobPath(img.manifestDigest);
  writeFileSync(data, readFileSync(data).toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
  const m = await t.throwsAsync(pull(`${reg.host}/nsbox/badman:1`, { store: newRoot() }));
  t.is((m as ImageError).code, 'ERR_DIGEST_MISMATCH');
  t.regex(m!.message, new RegExp(`manifest ${img.manifestDigest} is corrupt`));

  // The same layer, with a config claiming another uncompressed digest: registries cannot tell, the pull must.
  const liar = busyboxImage({ tag: 'liar', noBase: true, compression: 'none', layers: [[file('m', `liar ${scratch}\n`)]] });
  const layout = path.join(scratch, 'liar');
  cpSync(liar.layout, layout, { recursive: true });
  const blobs = path.join(layout, 'blobs', 'sha256');
  const config = { ...liar.config, rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } };
  const configJson = JSON.stringify(config);
  const configDigest = sha256(configJson);
  writeFileSync(path.join(blobs, configDigest.slice(7)), configJson);
  const manifest = JSON.stringify({ ...liar.manifest, config: { ...(liar.manifest.config as object), digest: configDigest, size: configJson.length } });
  writeFileSync(path.join(blobs, sha256(manifest).slice(7)), manifest);
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MEDIA.manifest, digest: sha256(manifest), size: manifest.length }] }));
  await rawPush(layout, reg.host, 'nsbox/liar', '1');
  const root = newRoot();
  const l = await t.throwsAsync(pull(`${reg.host}/nsbox/liar:1`, { store: root }));
  t.is((l as ImageError).code, 'ERR_DIGEST_MISMATCH');
  t.true(l!.message.includes(`layer ${liar.layers[0]!.digest}: uncompressed content (diff id) sha256:${'0'.repeat(64)} is corrupt: its content hashes to ${liar.layers[0]!.diffId}`), l!.message);
  t.deepEqual(storeNames(root), []);
});

test('an index with two platforms: this machine by default, --platform picks the other', async (t) => {
  if (!needsRoot(t)) return;
  const other = goArch() === 'arm64' ? 'amd64' : 'arm64';
  const mine = busyboxImage({ tag: 'multi' });
  const theirs = busyboxImage({ tag: 'multi', architecture: other, layers: [[file('etc/arch', `${other}\n`)]] });
  const { layout, indexDigest } = multiPlatformLayout(path.join(scratch, 'multi'), [mine, theirs]);
  await skopeoPush(layout, `${reg.host}/nsbox/multi:1`, { all: true });
  const r = await pull(`${reg.host}/nsbox/multi:1`, { store: newRoot() });
  t.is(r.digest, indexDigest);
  t.is(r.manifest, mine.manifestDigest);
  const env = { ...process.env, NSBOX_STORE: newRoot() };
  const cli = await runCli(['pull', '--platform', `linux/${other}`, `${reg.host}/nsbox/multi:1`], { env });
  t.is(cli.code, 0, cli.stderr);
  t.true(cli.stdout.includes(`Digest: ${indexDigest}`));
  const o = await pull(`${reg.host}/nsbox/multi:1`, { store: newRoot(), platform: `linux/${other}` });
  t.is(o.manifest, theirs.manifestDigest);
  t.is(o.layers.length, 2);
  const none = await t.throwsAsync(pull(`${reg.host}/nsbox/multi:1`, { store: newRoot(), platform: 'linux/s390x' }));
  t.regex(none!.message, /no matching manifest for linux\/s390x in the manifest list entries/);
  const single = await t.throwsAsync(pull(`${reg.host}/nsbox/busybox`, { store: newRoot(), platform: 'linux/s390x' }));
  t.regex(single!.message, new RegExp(`does not match the specified platform: wanted linux/s390x, actual: linux/${goArch()}`));
});

test('zstd and uncompressed layers pull and unpack to the diff ids of the config', async (t) => {
  if (!needsRoot(t)) return;
  // No busybox base and unique content: skopeo would otherwise reuse the gzip blobs the registry already has.
  const layers = [[file('z/one', `zstd ${scratch}\n`)], [file('z/two', 'two\n'), whiteout('z/one')]];
  const zimg = busyboxImage({ tag: 'zstd', noBase: true, compression: 'none', layers });
  await skopeoPush(zimg.layout, `${reg.host}/nsbox/zstd:1`, { zstd: true });
  const z = await pull(`${reg.host}/nsbox/zstd:1`, { store: newRoot() });
  t.deepEqual(z.layers.map((l) => l.mediaType), layers.map(() => 'application/vnd.oci.image.layer.v1.tar+zstd'));
  t.deepEqual(z.layers.map((l) => l.diffId), zimg.layers.map((l) => l.diffId));
  const plain = busyboxImage({ tag: 'plain', noBase: true, compression: 'none', layers: [[file('p/one', `plain ${scratch}\n`)]] });
  await rawPush(plain.layout, reg.host, 'nsbox/plain', '1');
  const p = await pull(`${reg.host}/nsbox/plain:1`, { store: newRoot() });
  t.deepEqual(p.layers.map((l) => [l.mediaType, l.digest, l.diffId]), [['application/vnd.oci.image.layer.v1.tar', plain.layers[0]!.digest, plain.layers[0]!.diffId]]);
});

test("Docker's v2 schema 2 manifests and manifest lists pull like OCI's", async (t) => {
  if (!needsRoot(t)) return;
  const other = goArch() === 'arm64' ? 'amd64' : 'arm64';
  const mine = busyboxImage({ tag: 'multi' });
  const theirs = busyboxImage({ tag: 'multi', architecture: other, layers: [[file('etc/arch', `${other}\n`)]] });
  const { layout } = multiPlatformLayout(path.join(scratch, 'multi-v2s2'), [mine, theirs]);
  await skopeoPush(layout, `${reg.host}/nsbox/v2s2:list`, { all: true, v2s2: true });
  const res = await fetch(`http://${reg.host}/v2/nsbox/v2s2/manifests/list`, { headers: { accept: 'application/vnd.docker.distribution.manifest.list.v2+json' } });
  t.is(res.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.list.v2+json');
  const listDigest = res.headers.get('docker-content-digest');
  const r = await pull(`${reg.host}/nsbox/v2s2:list`, { store: newRoot(), platform: `linux/${other}` });
  t.is(r.digest, listDigest);
  t.is(r.layers.length, 2);
  t.true(r.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
  t.deepEqual(r.layers.map((l) => l.diffId), theirs.layers.map((l) => l.diffId));
});

test('a registry that answers with an error is named, with its status and message', async (t) => {
  if (!needsRoot(t)) return;
  const server = createServer((_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    const e = await t.throwsAsync(pull(`${host}/team/app:1`, { store: newRoot() }));
    t.is((e as ImageError).code, 'ERR_REGISTRY_REFUSED');
    t.is(e!.message, `pull: ERR_REGISTRY_REFUSED: ${host}/team/app:1: registry ${host} refused GET manifest: HTTP 503: UNAVAILABLE: down for maintenance`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a registry mirror serves docker.io/library/busybox (docker.io itself is never asked)', async (t) => {
  if (!needsRoot(t)) return;
  await skopeoPush(image.layout, `${reg.host}/library/busybox:latest`);
  const cfg = path.join(scratch, 'registries.json');
  writeFileSync(cfg, JSON.stringify({ 'registry-mirrors': [`http://${reg.host}`] }));
  const r = await pull('busybox', { store: newRoot(), registriesConfig: cfg });
  t.is(r.reference, 'docker.io/library/busybox:latest');
  t.is(r.endpoint, reg.host);
  t.is(r.digest, image.manifestDigest);
  const env = { ...process.env, NSBOX_STORE: newRoot(), NSBOX_REGISTRIES_CONFIG: cfg };
  const cli = await runCli(['pull', 'busybox'], { env });
  t.is(cli.code, 0, cli.stderr);
  t.true(cli.stdout.includes('latest: Pulling from library/busybox'));
  t.true(cli.stdout.includes('Status: Downloaded newer image for busybox:latest'));
  t.is(cli.stdout.trim().split('\n').at(-1), 'docker.io/library/busybox:latest');
  const badCfg = path.join(scratch, 'bad-registries.json');
  writeFileSync(badCfg, JSON.stringify({ 'registry-mirrors': [`http://${reg.host}`], mirrors: [] }));
  const e = await t.throwsAsync(pull('busybox', { store: newRoot(), registriesConfig: badCfg }));
  t.regex(e!.message, /unknown field `mirrors`/, 'unknown settings are refused, not ignored');
  t.true(statSync(cfg).isFile());
});
