/**
 * The extension point networking plugs into. A start hook runs after the runtime reports `created`
 * (namespaces exist, the command is not yet exec'd) and before we send `start`: the place to move a
 * veth end into `/proc/PID/ns/net`. What it returns is torn down after the container exits.
 */
import { isNamedNetwork } from './network-options.js';
import type { ValidatedOptions, Volume } from './options.js';
import type { OciSpec } from './spec.js';

export interface StartHookContext {
  /** The container's id (64 hex digits). */
  id: string;
  /** Host pid of the container's first process. */
  pid: number;
  spec: OciSpec;
  options: ValidatedOptions;
}

export interface Teardown {
  teardown(): Promise<void>;
}

export interface PrepareHookContext {
  /** The container's id (64 hex digits). */
  id: string;
  options: ValidatedOptions;
}

/** What a hook's prepare stage adds to the container. */
export interface Prepared {
  /** Bind mounts added after the caller's own `volumes`. */
  volumes?: Volume[];
  /** nsbox's annotations for the runtime (a rootless network's `org.nsbox.userns-parent`). */
  annotations?: Record<string, string>;
  /** Undoes the preparation after the container ended (or failed to start). */
  teardown?(): Promise<void>;
}

export type StartHook = ((ctx: StartHookContext) => Promise<Teardown | void>) & {
  /**
   * Optional stage run synchronously by spawn() before the spec is built and the runtime started
   * (same containers as the hook itself): the place to create files the container must see bound
   * in, such as networking's /etc/hosts, whose content the hook then writes in place.
   */
  prepare?: (ctx: PrepareHookContext) => Prepared | void;
};

const hooks = new Map<string, StartHook>();

/**
 * Registers a hook under a name (registering the same name again replaces it). Hooks run for
 * containers on a named network (`options.network` other than 'host'/'none'), in registration order.
 * Returns a function that unregisters it.
 */
export function registerStartHook(name: string, hook: StartHook): () => void {
  hooks.set(name, hook);
  return () => {
    if (hooks.get(name) === hook) hooks.delete(name);
  };
}

export function startHooks(): StartHook[] {
  return [...hooks.values()];
}

/**
 * Runs the hooks' prepare stages for a container on a named network: returns the options with their
 * volumes added, and their teardowns (to run, in reverse, after the start hooks' own). When a stage
 * throws, the ones already done are undone before the error propagates.
 */
export function prepareHooks(id: string, options: ValidatedOptions): { options: ValidatedOptions; teardowns: Teardown[]; annotations: Record<string, string> } {
  const teardowns: Teardown[] = [];
  const annotations: Record<string, string> = {};
  if (!isNamedNetwork(options.network)) return { options, teardowns, annotations };
  const volumes: Volume[] = [];
  try {
    for (const hook of hooks.values()) {
      const p = hook.prepare?.({ id, options });
      if (p?.teardown) teardowns.push(p as Teardown);
      if (p?.volumes) volumes.push(...p.volumes);
      if (p?.annotations) Object.assign(annotations, p.annotations);
    }
  } catch (e) {
    for (const t of teardowns.reverse()) t.teardown().catch(() => {});
    throw e;
  }
  return { options: volumes.length === 0 ? options : { ...options, volumes: [...(options.volumes ?? []), ...volumes] }, teardowns, annotations };
}
