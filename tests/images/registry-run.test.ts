/**
 * Pull and store as one feature, against a real docker-registry on 127.0.0.1 (helpers/registry.ts):
 * `nsbox run IMAGE` pulls a missing image first (docker's "Unable to find image" and the pull's lines
 * on stderr), its layers really unpacked and stacked (a file from the second layer, a whiteout
 * respected); `--pull never` refuses naming the reference, `--pull always` pulls again, `--platform`
 * picks from an index (and pulls again when the stored image is another platform's); `run()` and
 * `Runtime.run()` pull too; a pulled image is listed with its digest and `rmi` frees it; an image
 * loaded and tagged in the store is pushed and pulled back by digest into another store, and runs.
 * CI budget: ~15 s (one registry, two skopeo pushes, a few ~50 ms runs).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { ImageNotFoundError, inspectImage, listImages, loadImage, pull, run, spawn, tagImage } from '../../ts/src/index.js';
import type { PullProgress } from '../../cli/src/tui/api.js';
import { RealApi } from '../../cli/src/tui/real-api.js';
import { runCli } from '../helpers/cli.js';
import { busyboxImage, file, goArch, multiPlatformLayout, whiteout } from '../helpers/oci-image.js';
import { needsRoot } from '../helpers/privileged.js';
import { skopeoPush, startRegistry, type Registry, isolatedRegistryEnv } from '../helpers/registry.js';
import { box, layeredImage } from './helpers.js';

const { scratch } = isolatedRegistryEnv('nsbox-registry-run-test');

// Two layers over busybox: the second replaces /etc/motd and deletes /data/gone.
const image = busyboxImage({
  tag: 'run',
  layers: [[file('etc/motd', 'first layer\n'), file('data/gone', 'x\n'), file('data/kept', 'kept\n')], [file('etc/motd', 'second layer\n'), whiteout('data/gone')]],
});
const SCRIPT = 'cat /etc/motd; ls /data; test -e /data/gone || echo gone';
let reg: Registry;
let ref: string;

test.before(async () => {
  reg = await startRegistry('none');
  ref = `${reg.host}/nsbox/busybox:latest`;
  await skopeoPush(image.layout, ref);
});

test.after.always(async () => {
  await reg?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('nsbox run pulls a missing image first, like docker; the layers stack; then it is there', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const cli = (args: string[]) => runCli(args, { env: b.env });
  const never = await cli(['run', '--rm', '--pull', 'never', ref, '--', 'cat', '/etc/motd']);
  t.is(never.code, 125);
  t.regex(never.stderr, /ERR_IMAGE_NOT_FOUND/);
  t.true(never.stderr.includes(ref), never.stderr);
  t.is(never.stderr.trim().split('\n').length, 1, 'one line');
  t.deepEqual(b.ls('blobs/sha256'), [], '--pull never fetched nothing');

  const r = await cli(['run', '--rm', ref, '--', 'sh', '-c', SCRIPT]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'second layer\nkept\ngone\n', 'the second layer wins, the whiteout hides /data/gone');
  const err = r.stderr.trim().split('\n');
  t.is(err[0], `Unable to find image '${ref}' locally`);
  t.is(err[1], 'latest: Pulling from nsbox/busybox');
  for (const l of image.layers) t.true(err.includes(`${l.digest.slice(7, 19)}: Pull complete`), r.stderr);
  t.true(err.includes(`Digest: ${image.manifestDigest}`), r.stderr);
  t.is(err.at(-1), `Status: Downloaded newer image for ${ref}`);
  t.is(b.ls('layers').length, image.layers.length, 'each layer unpacked once');

  const again = await cli(['run', '--rm', ref, '--', 'cat', '/etc/motd']);
  t.is(again.code, 0, again.stderr);
  t.is(again.stderr, '', 'present: no pull');
  const always = await cli(['run', '--rm', '--pull', 'always', ref, '--', 'cat', '/etc/motd']);
  t.is(always.code, 0, always.stderr);
  t.is(always.stdout, 'second layer\n');
  t.true(always.stderr.includes(`Status: Image is up to date for ${ref}`), always.stderr);
  t.false(always.stderr.includes('Unable to find'));

  const images = await cli(['images', '--digests']);
  t.regex(images.stdout, new RegExp(`${reg.host}/nsbox/busybox\\s+latest\\s+${image.manifestDigest}\\s+${image.configDigest.slice(7, 19)}`), images.stdout);
  const rmi = await cli(['rmi', ref]);
  t.is(rmi.code, 0, rmi.stderr);
  t.true(rmi.stdout.includes(`Untagged: ${ref}`), rmi.stdout);
  t.deepEqual([b.ls('blobs/sha256'), b.ls('layers'), b.ls('containers'), b.ls('tmp')], [[], [], [], []], 'rmi freed every blob and layer');

  const detached = await cli(['run', '-d', '--rm', ref, '--', 'true']);
  t.is(detached.code, 0, detached.stderr);
  t.true(detached.stderr.startsWith(`Unable to find image '${ref}' locally\n`), detached.stderr);
  t.regex(detached.stdout, /^[0-9a-f]{64}\n$/, 'stdout holds only the id');
});

test('run() and Runtime.run() pull a missing image; pull: never refuses it', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const never = await t.throwsAsync(run({ image: ref, store: b.store, pull: 'never', command: ['true'] }));
  t.true(never instanceof ImageNotFoundError, String(never));
  t.true(never!.message.includes(ref));
  t.throws(() => spawn({ image: ref, store: b.store, pull: 'always', command: ['true'] }), { code: 'ERR_INVALID_SPEC', message: /spawn\(\) cannot pull/ }, 'spawn() is synchronous: it cannot wait for a pull');
  const r = await run({ image: ref, store: b.store, command: ['sh', '-c', SCRIPT] });
  t.is(r.stdout, 'second layer\nkept\ngone\n');
  const [info] = await listImages({ store: b.store });
  t.is(info?.digest, image.manifestDigest);
  t.deepEqual(info?.names, [ref]);

  const other = box();
  t.teardown(() => other.dispose());
  const c = await other.rt.run({ image: `${reg.host}/nsbox/busybox@${image.manifestDigest}`, store: other.store, command: ['cat', '/etc/motd'] });
  t.is((await c.wait()).exitCode, 0);
  t.deepEqual((await listImages({ store: other.store })).map((i) => i.digest), [image.manifestDigest]);
  const listed = await runCli(['images', '--digests'], { env: other.env });
  t.regex(listed.stdout, new RegExp(`${reg.host}/nsbox/busybox\\s+<none>\\s+${image.manifestDigest}`), 'pulled by digest: no tag, as docker lists it');
});

test('run --platform: pulls that platform from an index, and again when the stored one is another', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  // Both images hold this machine's busybox (it must run); only their config's architecture differs.
  const other = goArch() === 'arm64' ? 'amd64' : 'arm64';
  const mine = busyboxImage({ tag: 'multi' });
  const theirs = busyboxImage({ tag: 'multi', architecture: other, layers: [[file('etc/arch', `${other}\n`)]] });
  const { layout } = multiPlatformLayout(path.join(scratch, 'multi'), [mine, theirs]);
  const multi = `${reg.host}/nsbox/multi:1`;
  await skopeoPush(layout, multi, { all: true });
  const cli = (args: string[]) => runCli(args, { env: b.env });
  const r = await cli(['run', '--rm', '--platform', `linux/${other}`, multi, '--', 'cat', '/etc/arch']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${other}\n`);
  const back = await cli(['run', '--rm', '--platform', `linux/${goArch()}`, multi, '--', 'sh', '-c', 'test -e /etc/arch || echo mine']);
  t.is(back.stdout, 'mine\n');
  t.true(back.stderr.startsWith(`Unable to find image '${multi}' locally`), back.stderr);
  const bad = await cli(['run', '--rm', '--platform', 'linux', multi]);
  t.is(bad.code, 125);
  t.regex(bad.stderr, /^nsbox: platform: ERR_INVALID_SPEC: "linux": expected os\/arch\[\/variant\]/);
});

test("the TUI's pull (RealApi.pullImage): real layer events summed into one progress line", async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const lib = { pull: (r: string, o: Parameters<typeof pull>[1]) => pull(r, { ...o, store: b.store }) };
  const seen: PullProgress[] = [];
  const r = await new RealApi(lib as never).pullImage(ref, { onProgress: (p) => seen.push(p) });
  t.deepEqual(r, { reference: ref, digest: image.manifestDigest });
  const total = image.layers.reduce((n, l) => n + l.size, 0);
  t.deepEqual(seen.at(-1), { reference: ref, layers: image.layers.length, done: image.layers.length, current: total, total });
  t.true(seen.some((p) => p.done < p.layers), 'progress before the end');
});

test('an image loaded and tagged in the store is pushed, then pulled back by digest and run', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage({}, 'pushme');
  // A docker archive has no manifest: the store wrote one, and that is what gets pushed.
  await loadImage(img.dockerArchive, { store: b.store });
  const target = `${reg.host}/nsbox/pushed:1`;
  t.is(await tagImage(img.ref, target, { store: b.store }), target);
  const { digest } = await inspectImage(target, { store: b.store });
  const push = await runCli(['push', target], { env: b.env });
  t.is(push.code, 0, push.stderr);
  t.regex(push.stdout.trim().split('\n').at(-1)!, new RegExp(`^1: digest: ${digest} size: \\d+$`));

  const back = box();
  t.teardown(() => back.dispose());
  const p = await pull(`${reg.host}/nsbox/pushed@${digest}`, { store: back.store });
  t.is(p.manifest, digest);
  t.deepEqual(p.layers.map((l) => l.diffId), img.layers.map((l) => l.diffId));
  const r = await run({ image: `${reg.host}/nsbox/pushed@${digest}`, store: back.store, command: ['sh', '-c', 'cat /etc/motd; ls /data; stat -c %a /bin/su-test'] });
  t.is(r.stdout, 'hello\nnew\n4755\n', 'the pulled layers unpacked as loaded: opaque dir, setuid');
});
