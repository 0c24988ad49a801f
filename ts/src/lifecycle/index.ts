/** Detached containers across processes: state root, monitor, exec, logs, events. */
export { Runtime, type RuntimeOptions, type DetachedRunOptions, type StatsSelection } from './runtime.js';
export { readStats, sample as statsSample, type StatsRead, type StatsSample, type StatsOptions } from './stats.js';
export { OpenFiles as StatsFiles } from './stats-files.js';
export { type EndpointRecord } from './endpoints.js';
export { RuntimeContainer, type StopOptions, type ContainerProcess } from './container.js';
export { securityProfile, formatDeviceRule, ANNOTATION_SECCOMP_PROFILE, type SecurityProfile, type DeviceRuleInfo } from './security.js';
export { type ExecOptions, type ExecProcess } from './exec.js';
export { type LogEntry, type LogOptions } from './logs.js';
export { type LifecycleEvent, type EventOptions } from './events.js';
export {
  defaultRoot, listStates, readState, resolveId,
  type ContainerState, type ContainerStatus, type NamespaceState, type EndpointState, type MountState, type IdMapState, type ImageState, type NetworkHelperState,
} from './state.js';
export {
  inspectNetworkHelper, icmpAvailability, rootlessNamespaceLinks, type NetworkHelperDetail, type HelperInterface, type IcmpAvailability, type NamespaceLink,
} from './network-helper.js';
export { ContainerNotFoundError, NameInUseError, ContainerStateError, BadSignalError, fromStderr } from './errors.js';
