/**
 * `Runtime`: detached containers under one state root. `run()` hands the container to a monitor
 * process of ours (part of nsbox-runtime) and returns as soon as the command runs; the container
 * outlives this Node process. Everything else reads the state root, so any process can manage it.
 */
import { RuntimeContainer } from './container.js';
import { readEvents, type EventOptions, type LifecycleEvent } from './events.js';
import { launch, type DetachedRunOptions } from './launch.js';
import { ContainerNotFoundError } from './errors.js';
import { defaultRoot, listStates, readState, resolveId, type ContainerState } from './state.js';
import { readStats, sample, streamStats, type StatsOptions, type StatsSample } from './stats.js';

export type { DetachedRunOptions } from './launch.js';

/** Which containers `Runtime.stats()` samples: running ones by default, `all`, or those `ids` name. */
export interface StatsSelection {
  /** Stopped containers too (their numbers are zeros, as in docker). */
  all?: boolean;
  /** Ids, names or unique id prefixes: these containers only (ContainerNotFoundError at once for an unknown one). */
  ids?: string[];
}

export interface RuntimeOptions {
  /** State root; default NSBOX_ROOT, /run/nsbox as root, $XDG_RUNTIME_DIR/nsbox otherwise. */
  root?: string;
}

export class Runtime {
  readonly root: string;

  constructor(o: RuntimeOptions = {}) {
    this.root = o.root ?? defaultRoot();
  }

  /** Starts a detached container; resolves once its command runs (rejects with the runtime's typed error). */
  async run(options: DetachedRunOptions): Promise<RuntimeContainer> {
    return this.container(await launch(this.root, options, 'run'), options);
  }

  /**
   * Creates a detached container without starting it (OCI `create`, docker's `create`): namespaces,
   * rootfs and network are ready, its monitor holds the command back until `start()` (from any
   * process). Status `created`; `pid` is its first process, waiting.
   */
  async create(options: DetachedRunOptions): Promise<RuntimeContainer> {
    return this.container(await launch(this.root, options, 'create'), options);
  }

  private container(l: Awaited<ReturnType<typeof launch>>, options: DetachedRunOptions): RuntimeContainer {
    // With `rm`, a command that ends at once may already be gone with its state.
    let state: ContainerState | undefined;
    try {
      state = readState(this.root, l.id);
    } catch {
      state = undefined;
    }
    const c = new RuntimeContainer(this.root, l.id, state?.name ?? options.name ?? '', l.pid ?? state?.pid ?? null);
    c.teardowns = l.teardowns;
    return c;
  }

  /** The container with this id, name or unique id prefix (ContainerNotFoundError otherwise). */
  get(ref: string): RuntimeContainer {
    const id = resolveId(this.root, ref);
    const s = readState(this.root, id);
    return new RuntimeContainer(this.root, id, s.name, s.status === 'running' || s.status === 'created' || s.status === 'paused' ? s.pid : null);
  }

  /** States of the containers (running ones only unless `all`), newest first. */
  list(o: { all?: boolean } = {}): ContainerState[] {
    const all = listStates(this.root);
    return o.all ? all : all.filter((s) => s.status === 'running' || s.status === 'paused');
  }

  /**
   * One read of the selected containers' usage, at once (docker's `stats --no-stream` without the
   * wait): `cpuPercent` is null, since a rate needs two reads — use `stats()` for it.
   */
  readStats(o: StatsSelection = {}): StatsSample[] {
    return this.selection(o)().map((s) => sample(readStats(s)));
  }

  /**
   * Usage of the selected containers every `interval` ms (default 1000), as an async iterator of
   * batches: CPU %, memory, pids, block and network I/O, from their cgroups and network namespaces.
   * Without `ids` the set follows the state root (new containers appear, removed ones leave).
   */
  stats(o: StatsSelection & StatsOptions = {}): AsyncGenerator<StatsSample[]> {
    return streamStats(this.selection(o), o);
  }

  private selection(o: StatsSelection): () => ContainerState[] {
    if (!o.ids) return () => this.list({ all: o.all === true });
    const ids = [...new Set(o.ids.map((ref) => resolveId(this.root, ref)))];
    return () => ids.flatMap((id) => {
      try {
        return [readState(this.root, id)];
      } catch (e) {
        if (e instanceof ContainerNotFoundError) return [];
        throw e;
      }
    });
  }

  /**
   * create, start, oom, kill, pause, unpause, exit and remove events as they happen (`past: true`
   * from the beginning; `since`/`until` bound them, and the iterator ends after `until`).
   */
  events(o: EventOptions = {}): AsyncGenerator<LifecycleEvent> {
    return readEvents(this.root, o);
  }
}
