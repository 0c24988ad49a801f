/**
 * What a rootless container's keeper leaves only when it was killed itself: its helper directory
 * and the container's /etc files, under the user's state root (`ROOT/run/…`). Removed with the
 * container; a live keeper removes them too when the container goes (both are idempotent).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';

export async function releaseRootless(root: string, id: string): Promise<unknown[]> {
  if ((process.geteuid?.() ?? 0) === 0) return [];
  const errors: unknown[] = [];
  for (const dir of [path.join(root, 'run', 'helpers', id), path.join(root, 'run', 'containers', id)]) {
    await rm(dir, { recursive: true, force: true }).catch((e: unknown) => errors.push(e));
  }
  return errors;
}
