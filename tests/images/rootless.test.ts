/**
 * Rootless images (issue #12), as `nobody` with a HOME and XDG dirs of its own, through the CLI and the
 * real runtime: a pull from a real registry on 127.0.0.1 into the user's own store
 * ($XDG_DATA_HOME/nsbox, default ~/.local/share/nsbox), `run IMAGE` on an overlay mounted in the
 * container's user+mount namespace, writes landing in the container's upper dir and gone with it,
 * `rmi` freeing the store, hostile layers refused as they are for root; nothing left behind.
 * Twice: with the user's one id (every file the user's, root inside) and with subordinate ranges
 * (a layer file of 1000 is 1000 inside; unpacking and removal in nsbox-runtime's user namespace).
 * Each CLI call runs in a private mount namespace whose /etc is an overlay with our own
 * /etc/subuid and /etc/subgid (empty for the one-id case), so the machine's files do not matter.
 * CI budget: ≤ 90 s (one registry, one skopeo push, ~40 CLI calls as nobody; ~10 s here).
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { runCli, type CliResult } from '../helpers/cli.js';
import { hostMountinfo, pidsWithArg } from '../helpers/host.js';
import { NOBODY, nobodyCannotRun } from '../helpers/nobody.js';
import { busyboxImage, chardev, dir, file, opaque, setuid, whiteout } from '../helpers/oci-image.js';
import { needsRoot } from '../helpers/privileged.js';
import { skopeoPush, startRegistry, type Registry } from '../helpers/registry.js';
import { ABSOLUTE, attacks } from './helpers.js';

type Mode = 'one id' | 'subuid';
const SUB = 100000;

// busybox, a layer with a file of uid 1000, a read-only directory, a volume's content and files the
// next one deletes or hides; then a whiteout, an opaque dir, a setuid file, a device node and an xattr
// the user may not set. /vol is a Volume: an anonymous volume filled, owners kept, from the image.
const image = busyboxImage({
  tag: 'rootless',
  config: { Volumes: { '/vol': {} } },
  layers: [
    [dir('home/u', { uid: 1000, gid: 1000 }), file('home/u/f', 'mine\n', { uid: 1000, gid: 1000 }), dir('ro', { mode: 0o555 }), file('ro/x', 'x'),
      dir('vol', { uid: 1000, gid: 1000 }), file('vol/v', 'v', { uid: 1000, gid: 1000 }),
      file('etc/motd', 'hello\n'), file('etc/gone', 'x'), dir('data'), file('data/old', 'old')],
    [whiteout('etc/gone'), opaque('data'), file('data/new', 'new'), setuid('bin/su-test', '#!/bin/sh\n'), chardev('dev-null-copy', 1, 3),
      file('trusted-file', 'x', { xattrs: { 'trusted.nsbox-test': 'y' } })],
  ],
});
let reg: Registry;
let ref: string;

test.before(async () => {
  if (process.getuid?.() !== 0) return;
  reg = await startRegistry('none');
  ref = `${reg.host}/nsbox/rootless:1`;
  await skopeoPush(image.layout, ref);
});

test.after.always(async () => {
  await reg?.stop();
});

interface User {
  home: string;
  store: string;
  cli(args: string[]): Promise<CliResult>;
  ls(sub: string): string[];
  dispose(): void;
}

/** A home for nobody (its store under XDG_DATA_HOME or the default ~/.local/share), and its CLI. */
function nobody(mode: Mode, xdgData: boolean): User {
  const home = mkdtempSync(path.join(tmpdir(), 'nsbox-rootless-img-'));
  const etc = path.join(home, '.etc');
  for (const d of ['run', 'data', '.etc/work']) mkdirSync(path.join(home, d), { recursive: true, mode: 0o700 });
  // The overlay's root takes its upper dir's owner and mode: /etc's.
  mkdirSync(path.join(etc, 'upper'), { mode: 0o755 });
  for (const d of [home, path.join(home, 'run'), path.join(home, 'data')]) chownSync(d, NOBODY, NOBODY);
  const store = xdgData ? path.join(home, 'data/nsbox') : path.join(home, '.local/share/nsbox');
  const ranges = mode === 'subuid' ? `nobody:${SUB}:65536\n` : '';
  // /etc as an overlay in a private mount namespace: our subuid/subgid, the machine's untouched.
  const wrap = [
    'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
    'mount -t overlay nsbox-test-etc -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc && printf "$2" > /etc/subuid && printf "$2" > /etc/subgid && shift 2 && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"',
    'sh', etc, ranges,
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: path.join(home, 'run'),
    ...(xdgData ? { XDG_DATA_HOME: path.join(home, 'data') } : {}),
    ...(process.env.NSBOX_RUNTIME ? { NSBOX_RUNTIME: process.env.NSBOX_RUNTIME } : {}),
    NSBOX_REGISTRIES_CONFIG: path.join(home, 'no-registries.json'), NSBOX_AUTH_FILE: path.join(home, 'auth.json'), DOCKER_CONFIG: path.join(home, 'docker'),
    HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', ALL_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1,localhost',
  };
  return {
    home, store,
    cli: (args) => runCli(args, { prefix: wrap, env }),
    ls: (sub) => (existsSync(path.join(store, sub)) ? readdirSync(path.join(store, sub)).sort() : []),
    dispose: () => rmSync(home, { recursive: true, force: true }),
  };
}

function ready(t: ExecutionContext): boolean {
  if (!needsRoot(t)) return false;
  const why = nobodyCannotRun();
  if (why) {
    t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
    return false;
  }
  return true;
}

async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

for (const mode of ['one id', 'subuid'] as const) {
  test(`rootless (${mode}): pull, run IMAGE, writes in the upper dir gone with the container, rmi frees the store`, async (t) => {
    if (!ready(t)) return;
    const u = nobody(mode, mode === 'subuid');
    const tag = `nsbox-rootless-img-${randomBytes(4).toString('hex')}`;
    t.teardown(() => {
      for (const pid of pidsWithArg(tag)) process.kill(pid, 'SIGKILL');
      u.dispose();
    });
    let at = Date.now();
    const pulled = await u.cli(['pull', ref]);
    t.log(`pull as nobody (${mode}): ${Date.now() - at} ms`);
    t.is(pulled.code, 0, pulled.stderr);
    t.regex(pulled.stderr, /note: layer sha256:[0-9a-f]{64}: 1 device node\(s\) skipped \(rootless cannot make them\): dev-null-copy/);
    t.regex(pulled.stderr, /note: layer sha256:[0-9a-f]{64}: 1 xattr\(s\) dropped \(the user may not set them\): trusted\.nsbox-test on trusted-file/);
    const maps = JSON.parse(readFileSync(path.join(u.store, 'idmap.json'), 'utf8')) as { uidMap: unknown[]; gidMap: unknown[] };
    t.deepEqual(maps.uidMap, mode === 'subuid'
      ? [{ inside: 0, outside: NOBODY, length: 1 }, { inside: 1, outside: SUB, length: 65536 }]
      : [{ inside: 0, outside: NOBODY, length: 1 }]);
    t.regex((await u.cli(['images'])).stdout, new RegExp(`${reg.host}/nsbox/rootless\\s+1\\s`));
    // On the host the layer file of 1000 is the user's, or subordinate id SUB+999.
    const layerFile = u.ls('layers').map((l) => path.join(u.store, 'layers', l, 'home/u/f')).find((p) => existsSync(p))!;
    t.is(statSync(layerFile).uid, mode === 'subuid' ? SUB + 999 : NOBODY);

    const script = 'stat -c "%u:%g" /home/u/f; stat -c "%u %s" /vol/v; stat -c "%a %u" /bin/su-test; cat /etc/motd; test -e /etc/gone || echo gone; ls /data; '
      + 'test -e /dev-null-copy || echo nodev; wc -l < /proc/self/uid_map; echo w > /written && cat /written';
    at = Date.now();
    const r = await u.cli(['run', '--rm', ref, 'sh', '-c', script]);
    t.log(`run --rm as nobody (${mode}), CLI start to exit: ${Date.now() - at} ms`);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(r.stdout.split('\n'), [mode === 'subuid' ? '1000:1000' : '0:0', mode === 'subuid' ? '1000 1' : '0 1', '4755 0', 'hello', 'gone', 'new', 'nodev', mode === 'subuid' ? '2' : '1', 'w', '']);
    t.deepEqual(u.ls('containers'), [], '--rm took the writable layer');
    t.true(await until(() => u.ls('removing').length === 0), 'and deleted it after the run (files of subordinate ids: in a user namespace)');

    // Detached: a write (by 1000 inside, with ranges) lands in the container's upper dir; rm takes it,
    // a directory the user cannot write included.
    const owner = mode === 'subuid' ? 'chown 1000:1000 /home/u/w; ' : '';
    const d = await u.cli(['run', '-d', '--name', 'w', ref, 'sh', '-c', `echo x > /home/u/w; ${owner}chmod 500 /home/u; mkdir -p /ro/y; chmod 555 /ro/y; touch /ready; sleep 1000`, tag]);
    t.is(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    const upper = path.join(u.store, 'containers', id, 'upper');
    t.true(await until(() => existsSync(path.join(upper, 'ready'))), 'the container wrote to its upper dir');
    t.is(readFileSync(path.join(upper, 'home/u/w'), 'utf8'), 'x\n');
    t.is(statSync(path.join(upper, 'home/u/w')).uid, mode === 'subuid' ? SUB + 999 : NOBODY);
    t.false(u.ls('layers').some((l) => existsSync(path.join(u.store, 'layers', l, 'home/u/w'))), 'no layer changed');
    const rm = await u.cli(['rm', '-f', 'w']);
    t.is(rm.code, 0, rm.stderr);
    t.deepEqual(u.ls('containers'), []);
    t.deepEqual(pidsWithArg(tag), []);
    // -d --rm: the monitor removes the layer when the command exits (in the namespace, with ranges).
    const dr = await u.cli(['run', '-d', '--rm', ref, 'sh', '-c', `mkdir /home/u/z; ${owner.replace('/home/u/w', '/home/u/z')}chmod 500 /home/u/z`]);
    t.is(dr.code, 0, dr.stderr);
    t.true(await until(() => u.ls('containers').length === 0), 'the monitor took the writable layer');

    const rmi = await u.cli(['rmi', ref]);
    t.is(rmi.code, 0, rmi.stderr);
    t.deepEqual([u.ls('layers'), u.ls('blobs/sha256'), u.ls('diffids'), u.ls('tmp'), u.ls('containers'), u.ls('removing')], [[], [], [], [], [], []], 'the store is empty');
    t.is((await u.cli(['images', '-q'])).stdout, '');
    t.false(hostMountinfo().includes(u.home), 'no mount of ours on the host');
  });

  test(`rootless (${mode}): hostile layers are refused as for root, nothing written outside the layer`, async (t) => {
    if (!ready(t)) return;
    const u = nobody(mode, false);
    t.teardown(() => u.dispose());
    // The attacks aim at <store>/../outside, which nobody could write: only the checks stop them.
    const outside = path.join(path.dirname(u.store), 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'target'), 'host file');
    for (const p of [path.join(u.home, '.local'), path.dirname(u.store), outside, path.join(outside, 'target')]) chownSync(p, NOBODY, NOBODY);
    const all = attacks(outside);
    for (const name of ['dot-dot', 'absolute', 'through a symlink', 'symlink to a relative escape', 'hard link out', 'user overlay xattr']) {
      const i = all.findIndex(([n]) => n === name);
      const [, entries, why] = all[i]!;
      const img = busyboxImage({ name: 'localhost/nsbox-test/hostile', tag: String(i), layers: [[file('ok', 'fine')], entries], noBase: true, compression: 'none' });
      const r = await u.cli(['load', '-i', img.ociArchive]);
      t.is(r.code, 125, `${name}: ${r.stderr}`);
      t.regex(r.stderr, /ERR_LAYER_REFUSED: .*layer sha256:[0-9a-f]{64}: unpack entry/, name);
      t.regex(r.stderr, why, name);
      t.false(existsSync(path.join(outside, 'marker')), `${name}: nothing written outside`);
      t.false(existsSync(ABSOLUTE));
      t.is(readFileSync(path.join(outside, 'target'), 'utf8'), 'host file');
      t.deepEqual(u.ls('tmp'), [], `${name}: no half-unpacked layer left`);
    }
    t.is(u.ls('layers').length, 1, 'only the harmless layer');
    t.is((await u.cli(['images', '-q'])).stdout, '', 'nothing named');

    // An owner beyond the ranges cannot be mapped: refused with ranges, the user's with one id.
    const far = busyboxImage({ name: 'localhost/nsbox-test/far', layers: [[file('far', 'x', { uid: 70000, gid: 70000 })]], noBase: true, compression: 'none' });
    const r = await u.cli(['load', '-q', '-i', far.ociArchive]);
    if (mode === 'subuid') {
      t.is(r.code, 125, r.stderr);
      t.regex(r.stderr, /ERR_LAYER_REFUSED: .*unpack entry "far": refused: owner 70000:70000 is outside the user's subordinate id ranges/);
      t.deepEqual(u.ls('tmp'), []);
    } else {
      t.is(r.code, 0, r.stderr);
    }
  });
}
