/**
 * A container on an image: its writable layer is made in the store (upper, work; the layer's
 * directory is the config's root.path, never mounted on), the image config merged into the options,
 * and the spec told, through nsbox's overlay annotation, to mount the layers as the root inside the
 * container's mount namespace.
 */
import { invalidSpec } from '../errors.js';
import { nativeImageSync } from '../native.js';
import type { IdMapping, ValidatedOptions } from '../options.js';
import type { Teardown } from '../hooks.js';
import { applyImageConfig } from './config.js';
import { isNamedNetwork } from '../network-options.js';
import { publishAll } from './ports.js';
import type { ImageRunConfig } from './store.js';
import path from 'node:path';

export const ANNOTATION_OVERLAY = 'org.nsbox.rootfs.overlay';
export const ANNOTATION_IMAGE = 'org.nsbox.image';
export const ANNOTATION_IMAGE_DIGEST = 'org.nsbox.image.digest';
export const ANNOTATION_IMAGE_ID = 'org.nsbox.image.id';
export const ANNOTATION_STOP_SIGNAL = 'org.nsbox.stop-signal';

interface ContainerLayer {
  id: string;
  image: string;
  imageId: string;
  lowerdirs: string[];
  upperdir: string;
  workdir: string;
  rootfs: string;
  /** A rootless store: its layers mark opaque directories with user.overlay.opaque. */
  userxattr: boolean;
  /** A rootless store with subordinate ids: the maps its layers were unpacked with. */
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
  config: { config?: ImageRunConfig };
}

export interface PreparedImage {
  options: ValidatedOptions;
  annotations: Record<string, string>;
  teardowns: Teardown[];
}

export function prepareImage(id: string, o: ValidatedOptions): PreparedImage {
  if (o.image === undefined) return { options: o, annotations: {}, teardowns: [] };
  if (o.rootfs !== undefined) throw invalidSpec('image', 'give an image or a rootfs, not both');
  // spawn() returns its container synchronously, so it cannot wait for a pull: run(),
  // Runtime.run/create and the CLI pull first (ensureImage) and hand over pull: 'never'.
  if (o.pull === 'always') {
    throw invalidSpec('pull', `spawn() cannot pull ${o.image} (it returns its container at once): use run() or Runtime.run(), or pull() first`);
  }
  const layer = nativeImageSync<ContainerLayer>('imageCreateContainerLayer', o.store ?? null, o.image, id);
  const remove = () => void nativeImageSync<null>('imageRemoveContainerLayer', o.store ?? null, id);
  try {
    const cfg = layer.config.config ?? {};
    const options = applyImageConfig(o, cfg, { reference: o.image, lowerdirs: layer.lowerdirs, volumeDir: path.dirname(layer.upperdir), ...(o.store ? { store: o.store } : {}) });
    options.rootfs = layer.rootfs;
    // Ownership in the layers is as these maps show it (a file of 1000 in the image is 1000 inside),
    // unless the caller gave maps of its own.
    if (layer.uidMap && !o.uidMap?.length) options.uidMap = layer.uidMap;
    if (layer.gidMap && !o.gidMap?.length) options.gidMap = layer.gidMap;
    if (o.publishAll) {
      if (!isNamedNetwork(o.network)) throw invalidSpec('publishAll', `needs a named network (network: ${JSON.stringify(o.network ?? null)})`);
      options.ports = publishAll(o.image, cfg.ExposedPorts, o.ports);
    }
    const annotations: Record<string, string> = {
      [ANNOTATION_OVERLAY]: JSON.stringify({ lowerdirs: layer.lowerdirs, upperdir: layer.upperdir, workdir: layer.workdir, ...(layer.userxattr ? { userxattr: true } : {}) }),
      [ANNOTATION_IMAGE]: o.image,
      [ANNOTATION_IMAGE_DIGEST]: layer.image,
      [ANNOTATION_IMAGE_ID]: layer.imageId,
    };
    if (cfg.StopSignal) annotations[ANNOTATION_STOP_SIGNAL] = cfg.StopSignal;
    return { options, annotations, teardowns: [{ teardown: async () => remove() }] };
  } catch (e) {
    remove();
    throw e;
  }
}
