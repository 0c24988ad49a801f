/**
 * docker's `--pull` policy, applied before a container is made: 'missing' (the default) pulls an
 * image the store lacks, 'always' pulls every time (an unchanged image only costs the manifest
 * request), 'never' uses the store alone. Async, so `run()`, `Runtime.run/create` and the CLI call
 * it; `spawn()` hands its container back synchronously and therefore only uses the store.
 */
import { ImageNotFoundError } from '../errors.js';
import { checkPlatform } from '../options.js';
import { pull } from '../registry/api.js';
import type { ProgressEvent, PullResult } from '../registry/types.js';
import { inspectImage } from './store.js';

export interface PullPolicyOptions {
  image?: string | undefined;
  rootfs?: string | undefined;
  pull?: 'always' | 'missing' | 'never' | undefined;
  platform?: string | undefined;
  store?: string | undefined;
}

export interface EnsureImageHooks {
  /** Called before a pull the 'missing' policy starts (docker: "Unable to find image 'X' locally"). */
  onMissing?: (reference: string) => void;
  onProgress?: (event: ProgressEvent) => void;
  /** Called once a pull finished (the CLI prints docker's Digest and Status lines). */
  onPulled?: (result: PullResult) => void;
  signal?: AbortSignal;
}

/** Whether the store has `reference` (a name, a digest or an id prefix), for `platform`'s os/arch when given. */
async function present(reference: string, store: string | undefined, platform: string | undefined): Promise<boolean> {
  try {
    const info = await inspectImage(reference, store === undefined ? {} : { store });
    if (platform === undefined) return true;
    const [os, arch] = platform.split('/');
    return info.os === os && info.architecture === arch;
  } catch (e) {
    if (e instanceof ImageNotFoundError) return false;
    throw e;
  }
}

/**
 * Pulls the image when the policy says so; returns the options with `pull: 'never'` once the store
 * holds what the policy asked for (so a later step does not pull again). Options it cannot judge
 * (no image, a rootfs too, a bad policy) are returned unchanged for validation to report.
 */
export async function ensureImage<T extends PullPolicyOptions>(o: T, hooks: EnsureImageHooks = {}): Promise<T> {
  const policy = o.pull ?? 'missing';
  if (typeof o.image !== 'string' || o.image === '' || o.rootfs !== undefined || !['always', 'missing', 'never'].includes(policy)) return o;
  if (policy === 'never') return o;
  if (o.platform !== undefined) checkPlatform(o.platform);
  if (policy === 'missing') {
    if (await present(o.image, o.store, o.platform)) return { ...o, pull: 'never' } as T;
    hooks.onMissing?.(o.image);
  }
  const result = await pull(o.image, {
    ...(o.store === undefined ? {} : { store: o.store }),
    ...(o.platform === undefined ? {} : { platform: o.platform }),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
  hooks.onPulled?.(result);
  return { ...o, pull: 'never' } as T;
}
