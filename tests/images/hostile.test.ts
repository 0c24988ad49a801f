// Hostile layers and bad input: `..`, absolute paths, paths through symlinks, hard links out, overlayfs's
// own xattrs — each refused naming the entry, nothing written outside the layer directory (a marker
// path outside is checked), nothing left in the store; a corrupt blob is named by its digest.
// CI budget: ~5 s.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { ImageError, ImageNotFoundError, listImages, loadImage, run } from '../../ts/src/index.js';
import { busyboxImage, file } from '../helpers/oci-image.js';
import { needsRoot } from '../helpers/privileged.js';
import { ABSOLUTE, attacks, box, type Box } from './helpers.js';

function setup(b: Box): string {
  const outside = path.join(path.dirname(b.store), 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(path.join(outside, 'target'), 'host file');
  return outside;
}

for (const [i, name] of ['dot-dot', 'absolute', 'through a symlink', 'symlink to a relative escape', 'hard link out', 'hard link through a symlink', 'overlay xattr', 'user overlay xattr'].entries()) {
  test(`hostile layer refused: ${name}`, async (t) => {
    if (!needsRoot(t)) return;
    const b = box();
    t.teardown(() => b.dispose());
    const outside = setup(b);
    const [, entries, why] = attacks(outside)[i]!;
    // The base layer first (it unpacks fine and stays unnamed: nothing uses it), then the attack.
    const img = busyboxImage({ name: 'localhost/nsbox-test/hostile', tag: String(i), layers: [[file('ok', 'fine')], entries], noBase: true, compression: 'none' });
    const e = await t.throwsAsync(loadImage(img.ociArchive, { store: b.store }), { instanceOf: ImageError });
    t.is(e?.code, 'ERR_LAYER_REFUSED');
    t.regex(e?.message ?? '', why);
    t.log(e?.message);
    t.false(existsSync(path.join(outside, 'marker')), 'nothing written outside');
    t.false(existsSync(ABSOLUTE));
    t.regex(e?.message ?? '', /layer sha256:[0-9a-f]{64}: unpack entry/, 'the layer is named');
    t.is(readFileSync(path.join(outside, 'target'), 'utf8'), 'host file');
    t.deepEqual(await listImages({ store: b.store }), [], 'nothing named');
    t.deepEqual(b.ls('tmp'), [], 'no half-unpacked layer left');
    t.is(b.ls('layers').length, 1, 'only the harmless layer');
  });
}

test('a corrupt blob is refused, named by its digest; an unknown image names the reference', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = busyboxImage({ name: 'localhost/nsbox-test/corrupt', layers: [[file('a', 'x'.repeat(4096))]], noBase: true, compression: 'none' });
  const archive = readFileSync(img.ociArchive);
  const layer = readFileSync(path.join(img.layout, 'blobs/sha256', img.layers[0]!.digest.replace('sha256:', '')));
  const at = archive.indexOf(layer);
  t.true(at > 0);
  archive[at + 1024] ^= 0xff;
  const bad = path.join(path.dirname(b.store), 'corrupt.tar');
  writeFileSync(bad, archive);
  const e = await t.throwsAsync(loadImage(bad, { store: b.store }), { instanceOf: ImageError });
  t.is(e?.code, 'ERR_DIGEST_MISMATCH');
  t.true(e!.message.includes(img.layers[0]!.digest), e?.message);
  t.deepEqual(b.ls('blobs/sha256').filter((x) => `sha256:${x}` === img.layers[0]!.digest), [], 'never stored');
  t.deepEqual(b.ls('tmp'), []);

  const missing = await t.throwsAsync(run({ image: 'localhost/none:1', store: b.store, pull: 'never', command: ['true'] }), { instanceOf: ImageNotFoundError });
  t.regex(missing?.message ?? '', /localhost\/none:1.*nsbox pull/);
  t.is(missing?.exitCode, 125);
  await t.throwsAsync(loadImage(path.join(b.store, 'no-such.tar'), { store: b.store }), { code: 'ENOENT' });
});

test('image options without an image, or with a rootfs, are refused by name', async (t) => {
  for (const [o, field] of [[{ entrypoint: 'x' }, 'entrypoint'], [{ pull: 'never' }, 'pull'], [{ store: '/x' }, 'store']] as const) {
    await t.throwsAsync(run({ command: ['true'], ...o }), { code: 'ERR_INVALID_SPEC', message: new RegExp(`^${field}: `) });
  }
  await t.throwsAsync(run({ image: 'busybox', rootfs: '/', command: ['true'] }), { code: 'ERR_INVALID_SPEC', message: /^rootfs: .*image or a rootfs/ });
  await t.throwsAsync(run({ image: 'busybox', pull: 'sometimes' as never }), { code: 'ERR_INVALID_SPEC', message: /^pull: / });
});
