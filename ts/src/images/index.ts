export {
  imageStoreRoot, listImages, inspectImage, loadImage, saveImage, tagImage, removeImage, pruneImages,
  type StoreOptions, type ImageInfo, type ImageRunConfig, type LoadedImage, type RemovedImages, type SaveOptions,
} from './store.js';
export { ensureImage, type EnsureImageHooks, type PullPolicyOptions } from './ensure.js';
export { ANNOTATION_OVERLAY, ANNOTATION_IMAGE, ANNOTATION_IMAGE_DIGEST, ANNOTATION_IMAGE_ID, ANNOTATION_STOP_SIGNAL } from './prepare.js';
