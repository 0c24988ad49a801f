/**
 * Where containers come from. RealApi adds /proc and the networking API around one of these:
 * SessionRuntime (spawn(): containers live as long as the dashboard) until the lifecycle API
 * (issue 4: Runtime.list/run/…, detached containers with a monitor) provides a detached one.
 */
import type { ContainerDetail, ContainerSummary, DashboardEvent, LogLine, NewContainerForm, ProcessInfo, StatsPoint } from './api.js';

export interface ContainerBackend {
  /** true when containers outlive the dashboard. */
  readonly detached: boolean;
  list(): Promise<ContainerSummary[]>;
  /** By id, unique id prefix or name; rejects with code ENOCONTAINER. */
  get(idOrName: string): Promise<ContainerSummary>;
  create(form: NewContainerForm): Promise<ContainerSummary>;
  logs(id: string, follow: boolean, signal?: AbortSignal): AsyncIterable<LogLine>;
  stop(id: string): Promise<void>;
  kill(id: string, signal: string): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  remove(id: string, force: boolean): Promise<void>;
  /** What `nsbox inspect` prints for it. */
  inspect(id: string): Promise<unknown>;
  /** An interactive shell in it on this process's terminal; resolves with the shell's exit code. */
  exec(id: string): Promise<number>;
  events(signal?: AbortSignal): AsyncIterable<DashboardEvent>;
  /** What the backend's own state says (namespaces, maps, endpoints…); /proc fills in the rest. */
  details?(id: string): Promise<Partial<ContainerDetail>>;
  /** Its processes, when the backend can list them (else /proc's view of its pid namespace). */
  processes?(id: string): Promise<ProcessInfo[]>;
  /** Its usage, when the backend reads it (list() then fills cpuPercent, memoryBytes and pids too). */
  stats?(id: string): Promise<StatsPoint>;
  close(): Promise<void>;
}
