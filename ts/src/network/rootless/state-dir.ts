/**
 * Where a rootless user's network state lives: `$NSBOX_ROOT/run` when set, else
 * `$XDG_RUNTIME_DIR/nsbox/run`, else (no XDG_RUNTIME_DIR, e.g. after `su`) `/tmp/nsbox-UID/run`.
 * `run/` is the folder the runtime's container listing skips (it shares the root with containers).
 *
 * The /tmp fallback is a directory anyone could have made first, so (as podman does for its
 * `/tmp/podman-run-UID`) it is created 0700 and, when it exists, used only if it is a real
 * directory (not a symlink) owned by the user and writable by nobody else; otherwise refused.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import { NsboxError, fromWire } from '../../errors.js';

export function isRootless(): boolean {
  return (process.geteuid?.() ?? 0) !== 0;
}

/** The user's state root (the runtime's too): see the file's comment. */
export function userRoot(): string {
  if (process.env.NSBOX_ROOT) return path.resolve(process.env.NSBOX_ROOT);
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg) return path.join(xdg, 'nsbox');
  const uid = process.getuid?.() ?? 0;
  const dir = path.join('/tmp', `nsbox-${uid}`);
  ensureOwnDir(dir, uid);
  return dir;
}

/** The rootless network state: container /etc files and helper directories. */
export function netRunDir(): string {
  return path.join(userRoot(), 'run');
}

function unsafe(dir: string, why: string): NsboxError {
  return fromWire({
    code: 'ERR_UNSAFE_STATE_DIR', op: 'check rootless state directory', path: dir, errno: null,
    message: `${why}; refusing to keep state there (set XDG_RUNTIME_DIR to a directory of your own, or remove ${dir})`,
  });
}

/** Creates `dir` 0700, or checks an existing one is the user's own and private enough. */
export function ensureOwnDir(dir: string, uid: number): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      const err = e as NodeJS.ErrnoException;
      throw fromWire({ code: err.code ?? 'ERR_RUNTIME', op: 'mkdir', path: dir, errno: null, message: err.message });
    }
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw unsafe(dir, 'it is not a directory (a symlink?)');
  if (st.uid !== uid) throw unsafe(dir, `it belongs to uid ${st.uid}, not ${uid}`);
  if ((st.mode & 0o022) !== 0) throw unsafe(dir, `its mode ${(st.mode & 0o777).toString(8)} lets others write to it`);
}
