/**
 * The napi addon, loaded on first use so that importing 'nsbox' (and starting the CLI) stays cheap.
 * Every call goes through here so addon errors become typed errors in one place.
 */
import { fromNative } from './errors.js';
import { loadAddon } from './platform.js';

interface Binding {
  buildSpec(optionsJson: string): string;
  readNamespaces(pid?: number | null): Promise<Array<{ kind: string; id: number }>>;
  coreVersion(): string;
  buildResources(optionsJson: string): string;
  resourceWarnings(optionsJson: string): string[];
}

let binding: Binding | undefined;

function load(): Binding {
  binding ??= loadAddon<Binding>();
  return binding;
}

export function nativeBuildSpec(optionsJson: string): string {
  try {
    return load().buildSpec(optionsJson);
  } catch (e) {
    throw fromNative(e);
  }
}

export async function nativeReadNamespaces(pid?: number): Promise<Array<{ kind: string; id: number }>> {
  try {
    return await load().readNamespaces(pid ?? null);
  } catch (e) {
    throw fromNative(e);
  }
}

export function nativeCoreVersion(): string {
  return load().coreVersion();
}

/** Resource options → the OCI `linux.resources` section `nsbox-runtime update` takes. */
export function nativeBuildResources(optionsJson: string): Record<string, unknown> {
  try {
    return JSON.parse(load().buildResources(optionsJson)) as Record<string, unknown>;
  } catch (e) {
    throw fromNative(e);
  }
}

export function nativeResourceWarnings(optionsJson: string): string[] {
  try {
    return load().resourceWarnings(optionsJson);
  } catch (e) {
    throw fromNative(e);
  }
}
