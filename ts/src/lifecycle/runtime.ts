/**
 * `Runtime`: detached containers under one state root. `run()` hands the container to a monitor
 * process of ours (part of nsbox-runtime) and returns as soon as the command runs; the container
 * outlives this Node process. Everything else reads the state root, so any process can manage it.
 */
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';

import { invalidSpec, type NsboxError } from '../errors.js';
import { startHooks, type Teardown } from '../hooks.js';
import { validateOptions, type RunOptions } from '../options.js';
import { buildSpec } from '../spec.js';
import { controlSession } from './driver.js';
import { RuntimeContainer } from './container.js';
import { readEvents, type EventOptions, type LifecycleEvent } from './events.js';
import { defaultRoot, listStates, readState, resolveId, type ContainerState } from './state.js';

export interface RuntimeOptions {
  /** State root; default NSBOX_ROOT, /run/nsbox as root, $XDG_RUNTIME_DIR/nsbox otherwise. */
  root?: string;
}

/** Options of a detached container: the run options (stdio is the log), plus lifecycle ones. */
export interface DetachedRunOptions extends Omit<RunOptions, 'stdin' | 'stdout' | 'stderr' | 'signal' | 'newSession' | 'interactive'> {
  /** Remove everything when the container exits (`--rm`). */
  rm?: boolean;
  /** Rotate the log at this many bytes (default 10 MiB). */
  logMaxSize?: number;
}

export class Runtime {
  readonly root: string;

  constructor(o: RuntimeOptions = {}) {
    this.root = o.root ?? defaultRoot();
  }

  /** Starts a detached container; resolves once its command runs (rejects with the runtime's typed error). */
  async run(options: DetachedRunOptions): Promise<RuntimeContainer> {
    const { rm, logMaxSize, ...rest } = options;
    if (logMaxSize !== undefined && !(Number.isSafeInteger(logMaxSize) && logMaxSize > 0)) throw invalidSpec('logMaxSize', 'must be a positive whole number of bytes');
    const validated = validateOptions({ ...rest, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' });
    const { spec } = buildSpec(validated);
    const id = randomBytes(32).toString('hex');
    const args = ['run', '--detach', '--config-fd', '3', '--control-fd', '3'];
    if (options.name !== undefined) args.push('--name', options.name);
    if (rm) args.push('--rm');
    if (logMaxSize !== undefined) args.push('--log-max-size', String(logMaxSize));
    const teardowns: Teardown[] = [];
    let hookError: NsboxError | undefined;
    const session = controlSession(this.root, [...args, id], ['ignore', 'ignore', 'pipe'], (f) => {
      // Networking: hooks run while the monitor holds the command back (docs/protocol.md).
      if (f.type === 'created') void runHooks(f.pid);
    });
    const runHooks = async (pid: number) => {
      for (const hook of startHooks()) {
        try {
          const t = await hook({ id, pid, spec, options: validated });
          if (t) teardowns.push(t);
        } catch (e) {
          hookError = e as NsboxError;
          session.send({ type: 'kill', signal: osConstants.signals.SIGKILL });
          break;
        }
      }
      session.send({ type: 'start' });
    };
    session.send({ type: 'config', spec });
    const { frames, error } = await session.done;
    if (hookError || error) {
      for (const t of teardowns.reverse()) await Promise.resolve(t.teardown()).catch(() => {});
      throw hookError ?? error;
    }
    const started = frames.find((f) => f.type === 'started');
    // With `rm`, a command that ends at once may already be gone with its state.
    let state: ContainerState | undefined;
    try {
      state = readState(this.root, id);
    } catch {
      state = undefined;
    }
    const c = new RuntimeContainer(this.root, id, state?.name ?? options.name ?? '', started?.type === 'started' ? started.pid : state?.pid ?? null);
    c.teardowns = teardowns;
    return c;
  }

  /** The container with this id, name or unique id prefix (ContainerNotFoundError otherwise). */
  get(ref: string): RuntimeContainer {
    const id = resolveId(this.root, ref);
    const s = readState(this.root, id);
    return new RuntimeContainer(this.root, id, s.name, s.status === 'running' ? s.pid : null);
  }

  /** States of the containers (running ones only unless `all`), newest first. */
  list(o: { all?: boolean } = {}): ContainerState[] {
    const all = listStates(this.root);
    return o.all ? all : all.filter((s) => s.status === 'running' || s.status === 'paused');
  }

  /** create, start, exit and remove events as they happen (`past: true` from the beginning). */
  events(o: EventOptions = {}): AsyncGenerator<LifecycleEvent> {
    return readEvents(this.root, o);
  }
}
