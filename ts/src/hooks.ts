/**
 * The extension point networking plugs into. A start hook runs after the runtime reports `created`
 * (namespaces exist, the command is not yet exec'd) and before we send `start`: the place to move a
 * veth end into `/proc/PID/ns/net`. What it returns is torn down after the container exits.
 */
import type { ValidatedOptions } from './options.js';
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

export type StartHook = (ctx: StartHookContext) => Promise<Teardown | void>;

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
