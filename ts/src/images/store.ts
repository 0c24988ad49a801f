/**
 * The image store (crates/nsbox-image): list, inspect, load, save, tag, remove, prune. Root:
 * `store` option, else NSBOX_STORE, /var/lib/nsbox as root, $XDG_DATA_HOME/nsbox otherwise.
 * Every call runs on the libuv pool; failures are typed (ImageNotFoundError, ImageInUseError,
 * ImageError with ERR_DIGEST_MISMATCH / ERR_LAYER_REFUSED / ERR_INVALID_IMAGE, or an errno's class).
 */
import path from 'node:path';

import { invalidSpec } from '../errors.js';
import { nativeImage, nativeImageStoreRoot } from '../native.js';

export interface StoreOptions {
  /** The store's root directory. */
  store?: string;
}

export interface ImageInfo {
  /** The config's digest: docker's IMAGE ID. */
  id: string;
  /** The manifest's digest (what a registry serves; `NAME@DIGEST`). */
  digest: string;
  /** Normalized references pointing at it (`docker.io/library/alpine:latest`). */
  names: string[];
  created: string | null;
  /** Bytes of its layer blobs. */
  size: number;
  architecture: string | null;
  os: string | null;
  diffIds: string[];
  /** The whole OCI image config; `config.config` holds Entrypoint, Cmd, Env, WorkingDir, User, … */
  config: { config?: ImageRunConfig; [k: string]: unknown };
}

/** The run settings of an image config (docker's names). */
export interface ImageRunConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
  Volumes?: Record<string, unknown> | null;
  ExposedPorts?: Record<string, unknown> | null;
  Labels?: Record<string, string> | null;
}

export interface LoadedImage {
  /** The name it was loaded under, or null for an unnamed one. */
  name: string | null;
  digest: string;
}

export interface RemovedImages {
  untagged: string[];
  deleted: string[];
  /** Blobs and unpacked layers freed. */
  blobs: number;
  layers: number;
}

const s = (o?: StoreOptions): string | null => o?.store ?? null;

export function imageStoreRoot(o: StoreOptions = {}): string {
  return nativeImageStoreRoot(o.store);
}

export function listImages(o: StoreOptions = {}): Promise<ImageInfo[]> {
  return nativeImage<ImageInfo[]>('imageList', s(o));
}

export function inspectImage(reference: string, o: StoreOptions = {}): Promise<ImageInfo> {
  return nativeImage<ImageInfo>('imageInspect', s(o), ref(reference));
}

/** `nsbox load -i FILE`: an OCI archive or a docker archive (`docker save`, `podman save`). */
export function loadImage(archive: string, o: StoreOptions = {}): Promise<LoadedImage[]> {
  return nativeImage<LoadedImage[]>('imageLoad', s(o), path.resolve(text('archive', archive)));
}

export interface SaveOptions extends StoreOptions {
  /** Default 'docker-archive', as docker and podman save. */
  format?: 'docker-archive' | 'oci-archive';
}

export async function saveImage(references: string | string[], output: string, o: SaveOptions = {}): Promise<void> {
  const refs = (Array.isArray(references) ? references : [references]).map((r) => ref(r));
  if (refs.length === 0) throw invalidSpec('references', 'name at least one image');
  const format = o.format ?? 'docker-archive';
  if (format !== 'docker-archive' && format !== 'oci-archive') throw invalidSpec('format', `${JSON.stringify(format)}: docker-archive or oci-archive`);
  await nativeImage<null>('imageSave', s(o), refs, path.resolve(text('output', output)), format);
}

/** `nsbox tag SOURCE TARGET`; returns the normalized target name. */
export function tagImage(source: string, target: string, o: StoreOptions = {}): Promise<string> {
  return nativeImage<string>('imageTag', s(o), ref(source), ref(target, 'target'));
}

/** `nsbox rmi`: a name untags it; a digest or id removes the image. Refused while a container uses it unless `force`. */
export function removeImage(reference: string, o: StoreOptions & { force?: boolean } = {}): Promise<RemovedImages> {
  return nativeImage<RemovedImages>('imageRemove', s(o), ref(reference), o.force === true);
}

/** Frees blobs and layers no image or container uses; `all`: also images no container uses. */
export function pruneImages(o: StoreOptions & { all?: boolean } = {}): Promise<RemovedImages> {
  return nativeImage<RemovedImages>('imagePrune', s(o), o.all === true);
}

function text(field: string, v: unknown): string {
  if (typeof v !== 'string' || v === '' || v.includes('\0')) throw invalidSpec(field, 'must be a non-empty string');
  return v;
}

function ref(v: unknown, field = 'reference'): string {
  const r = text(field, v);
  if (/\s/.test(r)) throw invalidSpec(field, `${JSON.stringify(r)} is not an image reference`);
  return r;
}
