// Images, from the library: load → run on an overlay root (whiteouts, opaque dirs, hard links, setuid,
// device nodes, xattrs as the layers say), one writable layer per container, the image config by
// docker's rules, rmi/prune freeing what nothing uses, save → load round trips.
// CI budget: ~25 s (busybox image built once and cached; each run ~50 ms).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { inspectImage, listImages, loadImage, pruneImages, removeImage, run, saveImage, tagImage, ImageInUseError } from '../../ts/src/index.js';
import { needsRoot } from '../helpers/privileged.js';
import { box, layeredImage } from './helpers.js';

const sh = (script: string) => ['sh', '-c', script];

test('load an OCI archive, run it: the layers stack as the image says', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage();
  const loaded = await loadImage(img.ociArchive, { store: b.store });
  t.deepEqual(loaded, [{ name: `${img.ref}`, digest: img.manifestDigest }]);
  const [info] = await listImages({ store: b.store });
  t.is(info?.id, img.configDigest);
  t.deepEqual(info?.names, [img.ref]);
  t.deepEqual(b.ls('layers').length, 3);

  const r = await run({
    image: img.ref, store: b.store,
    command: sh('cat /etc/motd; ls /etc/gone; ls /data; cat /usr/share/keep; echo; stat -c "%a %h %i" /bin/su-test /bin/orig /bin/orig2; readlink /motd-link; stat -c "%F %t %T" /dev-null-copy; grep -c "^[0-9]* [0-9]* [0-9:]* / / .* overlay .*volatile" /proc/self/mountinfo'),
  });
  t.is(r.stderr, 'ls: /etc/gone: No such file or directory\n');
  const lines = r.stdout!.split('\n');
  t.is(lines[0], 'hello');
  t.is(lines[1], 'new', 'opaque: the lower layer\'s /data/old is hidden');
  t.is(lines[2], 'keep');
  const [su, orig, orig2] = [lines[3], lines[4], lines[5]].map((l) => l!.split(' '));
  t.is(su![0], '4755', 'setuid kept');
  t.is(orig![1], '2', 'hard link: two names');
  t.is(orig![2], orig2![2], 'hard link: one inode');
  t.is(lines[6], 'etc/motd');
  t.is(lines[7], 'character special file 1 3');
  t.is(lines[8], '1', 'a layer removed with the container is mounted volatile: its unmount does not sync the disk');
  // The xattr, on the unpacked layer (busybox has no getfattr).
  const top = path.join(b.store, 'layers', img.layers[2]!.diffId.replace('sha256:', ''));
  t.is(execFileSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "user.nsbox").decode())', path.join(top, 'xattr-file')], { encoding: 'utf8' }).trim(), 'yes');
  t.is(statSync(path.join(top, 'etc/gone')).rdev, 0, 'whiteout: a 0/0 character device for overlayfs');
  t.deepEqual(b.ls('containers'), [], 'a foreground run leaves no writable layer');
  t.deepEqual(b.ls('tmp'), []);
});

test("a foreground run's writable layer leaves containers/ before run() returns, then removing/; a dead remover's leftover goes at the next store open", async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage();
  await loadImage(img.dockerArchive, { store: b.store });
  const r = await run({ image: img.ref, store: b.store, command: sh('echo x > /written') });
  t.is(r.exitCode, 0, r.stderr);
  t.deepEqual(b.ls('containers'), [], 'out of containers/ when run() returns (rmi and prune no longer count it)');
  // The runtime deletes it after closing its control socket (rootfs/layer.rs).
  for (let i = 0; i < 500 && b.ls('removing').length; i++) await new Promise((res) => setTimeout(res, 10));
  t.deepEqual(b.ls('removing'), [], 'then deleted');
  // A runtime killed while deleting leaves an entry no one holds a lock on; one still held stays.
  const dead = path.join(b.store, 'removing', 'dead.1');
  mkdirSync(path.join(dead, 'upper', 'd'), { recursive: true });
  writeFileSync(path.join(dead, 'upper', 'd', 'f'), 'x');
  const held = path.join(b.store, 'removing', 'held.2');
  mkdirSync(held);
  const lock = 'import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(60)';
  const holder = spawn('python3', ['-c', lock, held], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void holder.kill('SIGKILL'));
  await once(holder.stdout!, 'data');
  await listImages({ store: b.store });
  t.deepEqual(b.ls('removing'), ['held.2'], 'the dead remover\'s leftover is gone, the held one stays');
  holder.kill('SIGKILL');
  await once(holder, 'exit');
  await listImages({ store: b.store });
  t.deepEqual(b.ls('removing'), []);
});

test('two containers of one image: each its own writes; rm removes the writable layer', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage();
  await loadImage(img.dockerArchive, { store: b.store });
  const a = await b.rt.run({ image: img.ref, store: b.store, command: sh('echo a > /data/new; echo a > /w; sleep 600') });
  const c = await b.rt.run({ image: img.ref, store: b.store, command: sh('echo c > /w; sleep 600') });
  const read = async (ct: typeof a, f: string) => {
    const x = ct.exec(['cat', f], { stdout: 'pipe' });
    let out = '';
    x.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await x.wait();
    return out;
  };
  for (let i = 0; i < 200 && !(await read(a, '/w')); i++) await new Promise((r) => setTimeout(r, 10));
  for (let i = 0; i < 200 && !(await read(c, '/w')); i++) await new Promise((r) => setTimeout(r, 10));
  t.is(await read(a, '/w'), 'a\n');
  t.is(await read(c, '/w'), 'c\n');
  t.is(await read(c, '/data/new'), 'new', 'a write copied up in one container is not seen by another');
  const root = (await read(a, '/proc/self/mountinfo')).split('\n').find((l) => l.split(' ')[4] === '/') ?? '';
  t.regex(root, / - overlay /);
  t.notRegex(root, /volatile/, 'a layer that outlives its container is synced (not volatile)');
  t.is(b.ls('containers').length, 2);
  const s = a.inspect();
  t.is(s.image?.reference, img.ref);
  t.is(s.image?.id, img.configDigest);
  await t.throwsAsync(removeImage(img.ref, { store: b.store }), { instanceOf: ImageInUseError, message: new RegExp(a.id) });
  await a.remove({ force: true });
  await c.remove({ force: true });
  t.deepEqual(b.ls('containers'), [], 'rm removed upper and work');
  const layerDir = path.join(b.store, 'layers', img.layers[1]!.diffId.replace('sha256:', ''));
  t.false(existsSync(path.join(layerDir, 'w')), 'the image layers stay untouched');
});

test('the image config: Entrypoint/Cmd by docker\'s rules, Env merged, WorkingDir, User, Volumes', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage({
    Entrypoint: ['/bin/sh', '-c', 'echo "$0 $* | $A $B | $(pwd) | $(id -u):$(id -g)"; ls -d /vol'],
    Cmd: ['from-cmd'], Env: ['PATH=/bin', 'A=image', 'B=image'], WorkingDir: '/data', User: 'nobody', StopSignal: 'SIGUSR1',
    Volumes: { '/vol': {} },
  }, 'config');
  await loadImage(img.ociArchive, { store: b.store });
  const base = { image: img.ref, store: b.store };
  t.is((await run(base)).stdout, 'from-cmd  | image image | /data | 65534:65534\n/vol\n');
  t.is((await run({ ...base, command: ['x', 'y'], env: { B: 'mine' }, cwd: '/', user: '0:0' })).stdout, 'x y | image mine | / | 0:0\n/vol\n');
  const ep = await run({ ...base, entrypoint: ['/bin/echo', 'ep'] });
  t.is(ep.stdout, 'ep\n', '--entrypoint clears Cmd');
  t.is((await run({ ...base, entrypoint: '/bin/echo', command: ['given'] })).stdout, 'given\n');
  const d = await b.rt.run({ ...base, command: ['sleep-not-used'], entrypoint: ['sleep', '600'] });
  t.is(d.inspect().image?.stopSignal, 'SIGUSR1');
  await d.remove({ force: true });
});

test('rmi and prune free the blobs and layers nothing uses; tag adds a name', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const one = layeredImage();
  const two = layeredImage({ Cmd: ['true'] }, 'two');
  await loadImage(one.ociArchive, { store: b.store });
  await loadImage(two.ociArchive, { store: b.store });
  t.is(b.ls('layers').length, 3, 'the same layers, once');
  t.is(await tagImage(one.ref, 'localhost/other:1', { store: b.store }), 'localhost/other:1');
  const untag = await removeImage(one.ref, { store: b.store });
  t.deepEqual(untag.untagged, [one.ref]);
  t.deepEqual(untag.deleted, [], 'still named localhost/other:1');
  // A writable layer made before the marker held the digest (a separate `image` file) still counts.
  const legacy = path.join(b.store, 'containers', 'legacy-layer');
  mkdirSync(legacy, { recursive: true });
  writeFileSync(path.join(legacy, 'nsbox-layer'), 'legacy-layer');
  writeFileSync(path.join(legacy, 'image'), one.manifestDigest);
  await t.throwsAsync(removeImage('localhost/other:1', { store: b.store }), { instanceOf: ImageInUseError, message: /legacy-layer/ });
  rmSync(legacy, { recursive: true });
  const del = await removeImage('localhost/other:1', { store: b.store });
  t.deepEqual(del.deleted, [one.manifestDigest]);
  t.is(b.ls('layers').length, 3, 'layers shared with the other image stay');
  t.is(del.blobs, 2, 'its manifest and config went');
  const all = await pruneImages({ store: b.store, all: true });
  t.deepEqual(all.deleted, [two.manifestDigest]);
  t.deepEqual(b.ls('layers'), []);
  t.deepEqual(b.ls('blobs/sha256'), []);
  await t.throwsAsync(inspectImage(one.ref, { store: b.store }), { code: 'ERR_IMAGE_NOT_FOUND', message: /nsbox pull/ });
});

test('save → load round trips, both formats', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  const b2 = box();
  t.teardown(async () => {
    await b.dispose();
    await b2.dispose();
  });
  const img = layeredImage();
  await loadImage(img.dockerArchive, { store: b.store });
  for (const format of ['oci-archive', 'docker-archive'] as const) {
    const out = path.join(b.store, `out-${format}.tar`);
    await saveImage(img.ref, out, { store: b.store, format });
    const loaded = await loadImage(out, { store: b2.store });
    t.is(loaded[0]?.name, img.ref, format);
    const info = await inspectImage(img.ref, { store: b2.store });
    t.is(info.id, img.configDigest, `${format}: the same config`);
    t.deepEqual(info.diffIds, img.layers.map((l) => l.diffId));
    t.true(readFileSync(out).length > 0);
  }
  t.is((await run({ image: img.ref, store: b2.store, command: ['cat', '/etc/motd'] })).stdout, 'hello\n');
});

test('a killed load leaves nothing trusted; two loads of one image at once unpack each layer once', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage();
  // What a SIGKILLed load leaves: a half-written blob and a half-unpacked layer in tmp/, no lock held.
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(path.join(b.store, 'tmp/layer-999999-deadbeef/etc'), { recursive: true });
  writeFileSync(path.join(b.store, 'tmp/blob-999999-deadbeef'), 'half');
  const [x, y] = await Promise.all([loadImage(img.ociArchive, { store: b.store }), loadImage(img.dockerArchive, { store: b.store })]);
  t.is(x[0]?.name, img.ref);
  t.is(y[0]?.name, img.ref);
  t.deepEqual(b.ls('tmp'), [], 'leftovers removed at open, nothing of ours left');
  t.is(b.ls('layers').length, 3);
  t.is((await run({ image: img.ref, store: b.store, command: ['cat', '/etc/motd'] })).stdout, 'hello\n');
});

test('a docker archive whose second layer.tar is a symlink to the first (docker save before 25)', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const { busyboxImage, file, symlink } = await import('../helpers/oci-image.js');
  const { tarArchive } = await import('../helpers/tar.js');
  const { gunzipSync } = await import('node:zlib');
  const { writeFileSync } = await import('node:fs');
  const img = busyboxImage({ name: 'localhost/nsbox-test/tiny', layers: [[file('hello', 'hi\n')]], noBase: true });
  const blob = (d: string) => readFileSync(path.join(img.layout, 'blobs/sha256', d.replace('sha256:', '')));
  const layer = gunzipSync(blob(img.layers[0]!.digest));
  const manifest = [
    { Config: 'c.json', RepoTags: ['localhost/a:1'], Layers: ['l1/layer.tar'] },
    { Config: 'c.json', RepoTags: ['localhost/b:1'], Layers: ['l2/layer.tar'] },
  ];
  const archive = path.join(b.store, '..', 'linked.tar');
  writeFileSync(archive, tarArchive([
    file('manifest.json', JSON.stringify(manifest)), file('c.json', blob(img.configDigest)),
    file('l1/layer.tar', layer), symlink('l2/layer.tar', '../l1/layer.tar'),
  ]));
  const loaded = await loadImage(archive, { store: b.store });
  t.deepEqual(loaded.map((l) => l.name), ['localhost/a:1', 'localhost/b:1']);
  t.is(b.ls('layers').length, 1);
  const e = await t.throwsAsync(run({ image: 'localhost/b:1', store: b.store, command: ['/bin/cat', '/hello'] }));
  t.is((e as { exitCode?: number }).exitCode, 127, 'no busybox in it: the root is the layer, without cat');
  t.is((await inspectImage('localhost/b:1', { store: b.store })).diffIds[0], img.layers[0]!.diffId);
});

test('anonymous volumes start with what the image has there (whiteouts and opaque dirs as the overlay shows them)', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage({ Volumes: { '/data': {}, '/etc': {}, '/none': {} } }, 'vols');
  await loadImage(img.ociArchive, { store: b.store });
  const r = await run({ image: img.ref, store: b.store, command: sh('ls /data; ls /etc | tr "\\n" " "; echo; ls -A /none | wc -l; grep -c " /data \\| /etc \\| /none " /proc/self/mountinfo; echo w > /data/w') });
  t.is(r.stderr, '');
  const [data, etc, none, mounts] = r.stdout!.split('\n');
  t.is(data, 'new', 'opaque: the lower layer\'s /data/old is not copied');
  t.is(etc, 'group hostname motd passwd ', 'whiteout: etc/gone is not copied');
  t.is(none, '0');
  t.is(mounts, '3', 'each a volume mount');
  const layerDir = path.join(b.store, 'layers', img.layers[1]!.diffId.replace('sha256:', ''));
  t.false(existsSync(path.join(layerDir, 'data/w')), 'the layers stay untouched');
});
