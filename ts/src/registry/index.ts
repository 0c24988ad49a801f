/** Registries: pull, push, login, logout. */
export { pull, push, login, logout } from './api.js';
export type {
  RegistryClientOptions, LayerState, ProgressEvent, PullOptions, PullResult, PulledLayer, PushOptions, PushResult, LoginOptions,
  LoginResult, LogoutResult,
} from './types.js';
