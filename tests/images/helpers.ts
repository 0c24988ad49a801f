/** Shared by the image tests: a private store and state root, the multi-layer test image, store contents. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Runtime } from '../../ts/src/index.js';
import { busyboxImage, chardev, dir, file, hardlink, opaque, raw, setuid, symlink, whiteout, type ImageRunConfig, type OciImage, type TarEntry } from '../helpers/oci-image.js';

export interface Box {
  /** The image store's root. */
  store: string;
  /** The container state root. */
  root: string;
  rt: Runtime;
  /** Environment for the CLI: NSBOX_STORE and NSBOX_ROOT set to ours. */
  env: NodeJS.ProcessEnv;
  /** Entries of a store subdirectory (`layers`, `blobs/sha256`, `containers`, `tmp`). */
  ls(sub: string): string[];
  dispose(): Promise<void>;
}

export function box(): Box {
  const base = mkdtempSync(path.join(tmpdir(), 'nsbox-img-'));
  const store = path.join(base, 'store');
  const root = path.join(base, 'root');
  const rt = new Runtime({ root });
  return {
    store, root, rt,
    env: { ...process.env, NSBOX_STORE: store, NSBOX_ROOT: root },
    ls: (sub) => (existsSync(path.join(store, sub)) ? readdirSync(path.join(store, sub)).sort() : []),
    async dispose() {
      for (const s of rt.list({ all: true })) await rt.get(s.id).remove({ force: true }).catch(() => {});
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * The image the tests run: busybox, then a layer with files the next one deletes (a whiteout), a
 * directory it makes opaque, and a top layer with a hard link, a setuid file, a symlink, a device
 * node and an xattr.
 */
export function layeredImage(config: ImageRunConfig = {}, tag = 'layers'): OciImage {
  return busyboxImage({
    tag,
    config,
    layers: [
      [file('etc/motd', 'hello\n'), file('etc/gone', 'x'), dir('data'), file('data/old', 'old'), file('usr/share/keep', 'keep')],
      [
        whiteout('etc/gone'), opaque('data'), file('data/new', 'new'),
        file('bin/orig', 'linked'), hardlink('bin/orig2', 'bin/orig'),
        setuid('bin/su-test', '#!/bin/sh\n'), symlink('motd-link', 'etc/motd'),
        chardev('dev-null-copy', 1, 3), file('xattr-file', 'x', { xattrs: { 'user.nsbox': 'yes' } }),
      ],
    ],
  });
}

/** The names a store's index.json holds (none when it has no index yet). */
export function storeNames(store: string): string[] {
  const p = path.join(store, 'index.json');
  return existsSync(p) ? Object.keys((JSON.parse(readFileSync(p, 'utf8')) as { names?: Record<string, string> }).names ?? {}).sort() : [];
}

/** A fixed path (the image is cached by its bytes), checked to stay absent. */
export const ABSOLUTE = '/nsbox-test-absolute-marker';

/** Each attack aims at `<base>/outside/marker` (the store is `<base>/store`, a layer unpacks in `store/tmp/layer-…`). */
export function attacks(outside: string): Array<[string, TarEntry[], RegExp]> {
  return [
    ['dot-dot', [raw(file('../../../outside/marker', 'pwned'))], /"\.\.\/\.\.\/\.\.\/outside\/marker": refused: path contains "\.\."/],
    ['absolute', [raw(file(ABSOLUTE, 'pwned'))], /refused: absolute path/],
    ['through a symlink', [symlink('evil', outside), raw(file('evil/marker', 'pwned'))], /"evil\/marker": refused: path goes through the symlink "evil"/],
    ['symlink to a relative escape', [symlink('up', '../../..'), raw(file('up/outside/marker', 'pwned'))], /refused: path goes through the symlink "up"/],
    ['hard link out', [raw(hardlink('hl', `../../../outside/target`))], /"hl": refused: path contains "\.\."/],
    ['hard link through a symlink', [symlink('evil', outside), raw(hardlink('hl', 'evil/target'))], /"hl": refused: path goes through the symlink "evil"/],
    ['overlay xattr', [dir('d'), file('d/f', 'x', { xattrs: { 'trusted.overlay.redirect': '/etc' } })], /overlayfs's own attribute "trusted\.overlay\.redirect"/],
    // Rootless stores mount with userxattr, where overlayfs obeys user.overlay.*: refused the same.
    ['user overlay xattr', [dir('d', { xattrs: { 'user.overlay.opaque': 'y' } })], /overlayfs's own attribute "user\.overlay\.opaque"/],
  ];
}
