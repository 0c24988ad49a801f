/**
 * The busybox OCI image fixture (tests/helpers/oci-image.ts): digests verify, the same inputs give the
 * same bytes, GNU tar reads every layer and archive, the layer-entry helpers produce what OCI layers
 * mean by whiteouts, opaque dirs, hard links, setuid files and symlinks, and skopeo (the tool the
 * images tests push with) reads all three forms.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import test from 'ava';

import { busyboxImage, canonicalJson, chardev, dir, file, hardlink, MEDIA, opaque, setuid, sha256, symlink, whiteout, type OciImage } from './helpers/oci-image.js';
import { tarArchive } from './helpers/tar.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'nsbox-oci-test-'));
chmodSync(scratch, 0o755);
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

const cache = path.join(scratch, 'cache');

const LONG = `data/${'deep/'.repeat(25)}file-with-a-long-name.txt`; // > 100 bytes: needs ustar's prefix or pax
const EXTRA = [
  [file('data/keep', 'lower\n'), file('data/gone', 'lower\n'), file('etc/motd', 'hello\n'), dir('opaque-me'), file('opaque-me/old', 'x\n')],
  [
    whiteout('etc/motd'),
    opaque('opaque-me'),
    file('opaque-me/new', 'y\n'),
    file('bin/tool', '#!/bin/sh\necho tool\n', { mode: 0o755 }),
    hardlink('bin/tool-again', 'bin/tool'),
    setuid('bin/su-test', '#!/bin/sh\nid\n'),
    symlink('lib', 'usr/lib'),
    file(LONG, 'long\n'),
    file('data/with-xattr', 'x\n', { xattrs: { 'user.nsbox': 'yes' } }),
    chardev('dev/null-copy', 1, 3),
  ],
];

const readJson = (img: OciImage, digest: string) => JSON.parse(readFileSync(path.join(img.layout, 'blobs/sha256', digest.slice(7)), 'utf8'));
const tarList = (args: string[]) => execFileSync('tar', ['--numeric-owner', ...args], { encoding: 'utf8' });

test('the layout: every blob matches its digest and size; diff_ids match the uncompressed layers', (t) => {
  const img = busyboxImage({ cacheDir: cache, config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'], Env: ['A=1', 'PATH=/bin'], WorkingDir: '/tmp', User: '65534' } });
  t.deepEqual(JSON.parse(readFileSync(path.join(img.layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  for (const name of readdirSync(path.join(img.layout, 'blobs/sha256'))) {
    t.is(sha256(readFileSync(path.join(img.layout, 'blobs/sha256', name))), `sha256:${name}`, `blob ${name}`);
  }
  const index = JSON.parse(readFileSync(path.join(img.layout, 'index.json'), 'utf8'));
  t.is(index.mediaType, MEDIA.index);
  t.is(index.manifests.length, 1);
  const desc = index.manifests[0];
  t.is(desc.digest, img.manifestDigest);
  t.is(desc.annotations['org.opencontainers.image.ref.name'], img.ref);
  const manifest = readJson(img, desc.digest);
  t.is(statSync(path.join(img.layout, 'blobs/sha256', desc.digest.slice(7))).size, desc.size);
  t.is(manifest.config.digest, img.configDigest);
  const config = readJson(img, manifest.config.digest);
  t.deepEqual(config.config, { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'], Env: ['A=1', 'PATH=/bin'], WorkingDir: '/tmp', User: '65534' });
  t.is(config.os, 'linux');
  t.is(config.rootfs.type, 'layers');
  t.is(manifest.layers.length, 1);
  for (const [i, l] of manifest.layers.entries()) {
    const blob = readFileSync(path.join(img.layout, 'blobs/sha256', l.digest.slice(7)));
    t.is(blob.length, l.size);
    t.is(l.mediaType, MEDIA.layerGzip);
    t.is(sha256(gunzipSync(blob)), config.rootfs.diff_ids[i], `layer ${i} diff_id`);
  }
});

test('deterministic: two builds in separate caches give the same bytes; the cache answers the second call', (t) => {
  const a = busyboxImage({ cacheDir: path.join(scratch, 'det-a'), layers: EXTRA });
  const b = busyboxImage({ cacheDir: path.join(scratch, 'det-b'), layers: EXTRA });
  t.is(a.manifestDigest, b.manifestDigest);
  t.deepEqual(readFileSync(a.ociArchive), readFileSync(b.ociArchive), 'OCI archives byte for byte');
  t.deepEqual(readFileSync(a.dockerArchive), readFileSync(b.dockerArchive), 'docker archives byte for byte');
  const t0 = performance.now();
  const again = busyboxImage({ cacheDir: path.join(scratch, 'det-a'), layers: EXTRA });
  const ms = performance.now() - t0;
  t.is(again.layout, a.layout, 'same cache entry');
  t.true(ms < 400, `a cached image comes back fast (${ms.toFixed(0)} ms: reads busybox and hashes inputs, no gzip)`);
  const other = busyboxImage({ cacheDir: path.join(scratch, 'det-a'), tag: 'other' });
  t.not(other.manifestDigest, a.manifestDigest, 'other inputs, other image');
});

test('GNU tar reads the base layer: busybox, applet symlinks, passwd/group, /tmp 1777; busybox runs from it', (t) => {
  const img = busyboxImage({ cacheDir: cache });
  const layer = path.join(img.layout, 'blobs/sha256', img.layers[0]!.digest.slice(7));
  const list = tarList(['-tvzf', layer]);
  t.regex(list, new RegExp(`^-rwxr-xr-x 0/0 +${statSync('/bin/busybox').size} 2024-01-01 00:00 bin/busybox$`, 'm'));
  t.regex(list, /^lrwxrwxrwx 0\/0 +0 2024-01-01 00:00 bin\/sh -> busybox$/m);
  t.regex(list, /^-rw-r--r-- 0\/0 .* etc\/passwd$/m);
  t.regex(list, /^-rw-r--r-- 0\/0 .* etc\/group$/m);
  t.regex(list, /^drwxrwxrwt 0\/0 .* tmp\/$/m);
  t.regex(list, /^lrwxrwxrwx .* usr\/bin -> \.\.\/bin$/m);
  const names = list.trim().split('\n').map((l) => l.replace(/^.* 2024-01-01 00:00 /, '').replace(/ -> .*$/, ''));
  t.deepEqual(names, [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))), 'entries are sorted');
  const out = path.join(scratch, 'extract-base');
  execFileSync('mkdir', ['-p', out]);
  execFileSync('tar', ['-xzf', layer, '-C', out]);
  t.is(readlinkSync(path.join(out, 'bin/sh')), 'busybox');
  t.is(execFileSync(path.join(out, 'bin/busybox'), ['echo', 'from-layer'], { encoding: 'utf8' }), 'from-layer\n');
  t.regex(readFileSync(path.join(out, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
});

test('GNU tar reads the OCI archive and the docker archive (docker save’s layout)', (t) => {
  const img = busyboxImage({ cacheDir: cache, layers: EXTRA });
  const oci = tarList(['-tf', img.ociArchive]).trim().split('\n');
  t.true(oci.includes('oci-layout') && oci.includes('index.json'));
  for (const d of [img.manifestDigest, img.configDigest, ...img.layers.map((l) => l.digest)]) t.true(oci.includes(`blobs/sha256/${d.slice(7)}`), d);

  const docker = tarList(['-tf', img.dockerArchive]).trim().split('\n');
  t.true(docker.includes('manifest.json') && docker.includes('repositories'));
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', img.dockerArchive, 'manifest.json'], { encoding: 'utf8' }));
  t.deepEqual(manifest[0].RepoTags, [img.ref]);
  t.is(manifest[0].Config, `${img.configDigest.slice(7)}.json`);
  t.is(manifest[0].Layers.length, img.layers.length);
  for (const [i, l] of manifest[0].Layers.entries()) {
    const layer = execFileSync('tar', ['-xOf', img.dockerArchive, l], { maxBuffer: 64 << 20 });
    t.is(sha256(layer), img.layers[i]!.diffId, `docker archive layer ${i} is the uncompressed layer`);
  }
  const repos = JSON.parse(execFileSync('tar', ['-xOf', img.dockerArchive, 'repositories'], { encoding: 'utf8' }));
  t.deepEqual(Object.keys(repos), [img.name]);
});

test('extra layers: whiteout, opaque dir, hard link, setuid file, symlink, long path, xattr, device', (t) => {
  const img = busyboxImage({ cacheDir: cache, layers: EXTRA });
  t.is(img.layers.length, 3);
  const top = path.join(img.layout, 'blobs/sha256', img.layers[2]!.digest.slice(7));
  const list = tarList(['-tvzf', top]);
  t.regex(list, /^-rw-r--r-- 0\/0 +0 .* etc\/\.wh\.motd$/m, 'whiteout');
  t.regex(list, /^-rw-r--r-- 0\/0 +0 .* opaque-me\/\.wh\.\.wh\.\.opq$/m, 'opaque marker');
  t.regex(list, /^h.* bin\/tool-again link to bin\/tool$/m, 'hard link');
  t.regex(list, /^-rwsr-xr-x 0\/0 .* bin\/su-test$/m, 'setuid');
  t.regex(list, /^lrwxrwxrwx .* lib -> usr\/lib$/m, 'symlink');
  t.true(list.includes(LONG), 'long path kept whole');
  t.regex(list, /^crw-rw-rw- 0\/0 +1,3 .* dev\/null-copy$/m, 'character device');
  t.true(gunzipSync(readFileSync(top)).includes('SCHILY.xattr.user.nsbox=yes'), 'xattr as a pax record');

  if (process.getuid?.() !== 0) return t.log('not root: extraction of the device and setuid bits not checked');
  const out = path.join(scratch, 'extract-top');
  execFileSync('mkdir', ['-p', out]);
  execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '-xpzf', top, '-C', out]);
  t.is(statSync(path.join(out, 'bin/tool')).ino, statSync(path.join(out, 'bin/tool-again')).ino, 'hard link extracted as one inode');
  t.is(statSync(path.join(out, 'bin/su-test')).mode & 0o7777, 0o4755);
  t.true(lstatSync(path.join(out, 'dev/null-copy')).isCharacterDevice());
  t.is(readFileSync(path.join(out, LONG), 'utf8'), 'long\n');
  t.true(existsSync(path.join(out, 'opaque-me/new')));
});

test('tar writer: pax for names ustar cannot hold; canonical JSON is stable', (t) => {
  const name = `${'x'.repeat(120)}/${'y'.repeat(120)}`; // no ustar split fits: pax path record
  const f = path.join(scratch, 'pax.tar');
  writeFileSync(f, tarArchive([{ type: 'file', path: name, content: 'z' }]));
  t.is(tarList(['-tf', f]).trim(), name);
  t.is(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], u: undefined }), '{"a":[{"c":3,"d":2}],"b":1}');
});

// skopeo is what the images tests push with: it must read all three forms and verify every digest.
const skopeo = spawnSync('skopeo', ['--version'], { encoding: 'utf8' });
test('skopeo reads the layout, the OCI archive and the docker archive, and copies them (digests verified)', (t) => {
  if (skopeo.error) {
    if (process.env.NSBOX_REQUIRE_PRIV === '1') t.fail('skopeo is not installed (tests/deps/debian.txt lists it), and NSBOX_REQUIRE_PRIV=1 forbids skipping');
    else t.log('NOT RUN: skopeo is not installed');
    return t.pass();
  }
  const img = busyboxImage({ cacheDir: cache, layers: EXTRA, config: { Cmd: ['sh', '-c', 'echo hi'], WorkingDir: '/data' } });
  const home = mkdtempSync(path.join(scratch, 'skopeo-'));
  chmodSync(home, 0o777);
  // As root skopeo would keep a blob-info cache in /var/lib/containers/cache: run it as nobody, at home in the scratch dir.
  const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const sk = (...args: string[]) => {
    const [cmd, ...rest] = [...asNobody, 'env', `HOME=${home}`, `TMPDIR=${home}`, 'skopeo', ...args];
    const r = spawnSync(cmd!, rest, { encoding: 'utf8' });
    t.is(r.status, 0, `skopeo ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const raw = sk('inspect', '--raw', `oci:${img.layout}:${img.ref}`);
  t.is(sha256(raw), img.manifestDigest, 'skopeo sees our manifest, byte for byte');
  const cfg = JSON.parse(sk('inspect', '--config', `oci:${img.layout}:${img.ref}`));
  t.deepEqual(cfg.config.Cmd, ['sh', '-c', 'echo hi']);
  t.is(cfg.config.WorkingDir, '/data');
  t.is(JSON.parse(sk('inspect', `oci-archive:${img.ociArchive}`)).Digest, img.manifestDigest);
  const fromDocker = JSON.parse(sk('inspect', `docker-archive:${img.dockerArchive}`));
  t.is(fromDocker.Layers.length, img.layers.length);
  for (const [i, src] of [`oci:${img.layout}:${img.ref}`, `oci-archive:${img.ociArchive}`, `docker-archive:${img.dockerArchive}`].entries()) {
    const dest = path.join(home, `copy-${i}`);
    sk('copy', '--quiet', src, `dir:${dest}`);
    t.true(existsSync(path.join(dest, img.configDigest.slice(7))), `${src}: config copied under its digest`);
  }
});
