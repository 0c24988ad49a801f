/** Running the CLI as `nobody` (uid/gid 65534, no supplementary groups), for the rootless claims. */
import { constants, statSync } from 'node:fs';
import path from 'node:path';

import { runtimePath } from 'nsbox';

import { CLI, REPO } from './cli.js';

export const NOBODY = 65534;
export const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

/**
 * Why nobody cannot run the CLI from this checkout, or null when it can. Checked by walking the
 * permission bits rather than copying anything into the repo.
 */
export function nobodyCannotRun(): string | null {
  const needs: Array<[string, number]> = [[process.execPath, constants.X_OK | constants.R_OK], [CLI, constants.R_OK], [runtimePath(), constants.X_OK]];
  for (const [file, mode] of needs) {
    for (let dir = path.dirname(file); dir !== '/'; dir = path.dirname(dir)) {
      if (!othersMay(dir, 0o001)) return `${dir} is not searchable by others, so nobody cannot reach ${file}`;
    }
    if (!othersMay(file, mode & constants.X_OK ? 0o001 : 0o004)) return `${file} is not ${mode & constants.X_OK ? 'executable' : 'readable'} by others`;
  }
  if (!othersMay(path.join(REPO, 'package.json'), 0o004)) return `${REPO}/package.json is not readable by others`;
  return null;
}

/** Checks the "others" permission bits (nobody owns nothing here and is in no group). */
function othersMay(file: string, bit: number): boolean {
  try {
    return (statSync(file).mode & bit) !== 0;
  } catch {
    return false;
  }
}
