/**
 * Registries from TypeScript: thin wrappers over the addon's AsyncTasks (the pull runs on the libuv
 * pool and its own downloader threads; Node's threads never change namespace). Progress comes back
 * through a threadsafe function, an AbortSignal trips the task's CancelToken.
 */
import { AbortError, fromNative, invalidSpec } from '../errors.js';
import { loadAddon } from '../platform.js';
import type {
  LoginOptions, LoginResult, LogoutResult, ProgressEvent, PullOptions, PullResult, PushOptions, PushResult, RegistryClientOptions,
} from './types.js';

interface CancelToken {
  cancel(): void;
}

interface RegistryBinding {
  CancelToken: new () => CancelToken;
  pullImage(reference: string, options: Record<string, unknown>, onProgress: ((e: string) => void) | null, cancel: CancelToken): Promise<string>;
  pushImage(reference: string, options: Record<string, unknown>, onProgress: ((e: string) => void) | null, cancel: CancelToken): Promise<string>;
  registryLogin(server: string, username: string, password: string, options: Record<string, unknown>): Promise<string>;
  registryLogout(server: string, options: Record<string, unknown>): Promise<string>;
}

let binding: RegistryBinding | undefined;

function native(): RegistryBinding {
  binding ??= loadAddon<RegistryBinding>();
  return binding;
}

function files(o: RegistryClientOptions & { platform?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['store', 'registriesConfig', 'authFile', 'certsDir', 'platform'] as const) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function checkRef(reference: unknown): string {
  if (typeof reference !== 'string' || reference === '') throw invalidSpec('reference', 'must be a non-empty image reference like alpine:3.20');
  return reference;
}

/** Runs one cancellable task; an abort rejects with AbortError whatever the task said. */
async function cancellable<T>(
  signal: AbortSignal | undefined,
  onProgress: ((e: ProgressEvent) => void) | undefined,
  start: (b: RegistryBinding, progress: ((e: string) => void) | null, token: CancelToken) => Promise<string>,
): Promise<T> {
  if (signal?.aborted) throw new AbortError(signal.reason);
  const b = native();
  const token = new b.CancelToken();
  const onAbort = () => token.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  // The addon sends a last {"kind":"end"} event once the task is over; waiting for it means every
  // event reached onProgress before the promise settles (libuv does not order the two queues).
  let ended: (() => void) | undefined;
  const end = onProgress ? new Promise<void>((resolve) => (ended = resolve)) : Promise.resolve();
  const progress = onProgress
    ? (e: string) => {
        const event = JSON.parse(e) as ProgressEvent | { kind: 'end' };
        if (event.kind === 'end') ended!();
        else onProgress(event);
      }
    : null;
  try {
    const out = await start(b, progress, token).finally(() => end);
    return JSON.parse(out) as T;
  } catch (e) {
    if (signal?.aborted) throw new AbortError(signal.reason);
    throw fromNative(e);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Pulls an image into the store: `alpine`, `127.0.0.1:5000/team/app:1.4`, `name@sha256:…`. */
export function pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = checkRef(reference);
  return cancellable(options.signal, options.onProgress, (b, p, t) => b.pullImage(ref, files(options), p, t));
}

/** Pushes an image of the store to its registry (blobs the registry lacks, then the manifest). */
export function push(reference: string, options: PushOptions = {}): Promise<PushResult> {
  const ref = checkRef(reference);
  return cancellable(options.signal, options.onProgress, (b, p, t) => b.pushImage(ref, files(options), p, t));
}

/** Checks the credentials against the registry, then stores them (mode 0600). */
export async function login(server: string, options: LoginOptions): Promise<LoginResult> {
  if (!server) throw invalidSpec('server', 'must name a registry (host[:port])');
  if (!options.username) throw invalidSpec('username', 'must not be empty');
  if (!options.password) throw invalidSpec('password', 'must not be empty');
  try {
    return JSON.parse(await native().registryLogin(server, options.username, options.password, files(options))) as LoginResult;
  } catch (e) {
    throw fromNative(e);
  }
}

/** Forgets the stored credentials for `server`. */
export async function logout(server: string, options: RegistryClientOptions = {}): Promise<LogoutResult> {
  if (!server) throw invalidSpec('server', 'must name a registry (host[:port])');
  try {
    return JSON.parse(await native().registryLogout(server, files(options))) as LogoutResult;
  } catch (e) {
    throw fromNative(e);
  }
}
