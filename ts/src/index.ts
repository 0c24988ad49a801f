/** nsbox: Linux containers from Node.js. */
export { run, type RunResult } from './run.js';
export { spawn, type Container, type ExitStatus } from './container.js';
export { namespaces, type NamespaceIds } from './namespaces.js';
export {
  NAMESPACE_KINDS, validateOptions,
  type RunOptions, type ValidatedOptions, type NamespaceKind, type IdMapping, type Volume, type UserSpec, type StdioOption,
  type NetworkOptions, type PortMapping, type SecurityOptions, type ResourceOptions, type SizeOption, type Ulimit,
} from './options.js';
export { nativeResourceWarnings as resourceWarnings } from './native.js';
export {
  NsboxError, InvalidSpecError, PermissionError, NotFoundError, CommandNotFoundError, CommandNotExecutableError,
  RuntimeError, TeardownError, AbortError, RegistryError, ImageNotFoundError, ImageInUseError, ImageError, fromWire, formatWire, type WireError,
} from './errors.js';
export { registerStartHook, type StartHook, type StartHookContext, type Teardown } from './hooks.js';
export { ociConfig, ANNOTATION_WAIT_START, type OciSpec, type BuiltSpec } from './spec.js';
export { runtimePath } from './runtime-process.js';
export { platformTriple, UnsupportedPlatformError } from './platform.js';
export { encodeFrame, FrameDecoder, type ToRuntime, type FromRuntime } from './frames.js';
export { version } from './version.js';
export { nativeCoreVersion as coreVersion } from './native.js';
export * from './network/index.js';
export * from './registry/index.js';
export * from './lifecycle/index.js';
export { hostInfo, subordinateRanges, type HostInfo, type HostFeature, type HostInfoOptions, type IdRange } from './host-info.js';
export * from './images/index.js';
export * from './learn/index.js';
