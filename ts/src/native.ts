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
  imageStoreRoot(store?: string | null): string;
  imageList(store: string | null): Promise<string>;
  imageInspect(store: string | null, reference: string): Promise<string>;
  imageLoad(store: string | null, archive: string): Promise<string>;
  imageSave(store: string | null, references: string[], output: string, format: string): Promise<string>;
  imageRemove(store: string | null, reference: string, force: boolean): Promise<string>;
  imagePrune(store: string | null, all: boolean): Promise<string>;
  imageTag(store: string | null, source: string, target: string): Promise<string>;
  imageCreateContainerLayer(store: string | null, reference: string, id: string): string;
  imageRemoveContainerLayer(store: string | null, id: string): string;
  imagePopulateVolume(store: string | null, lowerdirs: string[], target: string, dest: string): string;
}

type ImageCall = { [K in keyof Binding]: K extends `image${string}` ? (Binding[K] extends (...a: never[]) => Promise<string> ? K : never) : never }[keyof Binding];

/** An image store call (ts/src/images): the addon's JSON result, parsed; its errors typed. */
export async function nativeImage<T>(call: ImageCall, ...args: unknown[]): Promise<T> {
  try {
    const fn = load()[call] as (...a: unknown[]) => Promise<string>;
    return JSON.parse(await fn(...args)) as T;
  } catch (e) {
    throw fromNative(e);
  }
}

/** The two synchronous image calls (spawn() hands back its container at once). */
export function nativeImageSync<T>(call: 'imageCreateContainerLayer' | 'imageRemoveContainerLayer' | 'imagePopulateVolume', ...args: Array<string | string[] | null>): T {
  try {
    const fn = load()[call] as (...a: Array<string | string[] | null>) => string;
    return JSON.parse(fn(...args)) as T;
  } catch (e) {
    throw fromNative(e);
  }
}

export function nativeImageStoreRoot(store?: string): string {
  return load().imageStoreRoot(store ?? null);
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
