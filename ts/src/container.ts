/**
 * `spawn()`: one running container and its handle. Drives the runtime through its life:
 * config → (created → start hooks → start) → started → exited, then tears hooks down.
 */
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';

import { AbortError, NsboxError, RuntimeError, TeardownError } from './errors.js';
import { prepareHooks, startHooks, type Teardown } from './hooks.js';
import { validateOptions, type RunOptions, type StdioOption, type ValidatedOptions } from './options.js';
import { newContainerId, RuntimeProcess, type RuntimeOutcome } from './runtime-process.js';
import { buildSpec, type OciSpec } from './spec.js';
import { prepareImage } from './images/prepare.js';

export interface ExitStatus {
  /** The command's exit code; 128+N when it died of signal N (docker's convention). */
  exitCode: number;
  /** The signal that ended the command, or null. */
  signal: string | null;
}

export interface Container {
  /** 64 hex digits. */
  readonly id: string;
  readonly name: string | undefined;
  /** The OCI config the runtime was given. */
  readonly spec: OciSpec;
  /** Host pid of the container's first process; undefined until `started` resolves. */
  readonly pid: number | undefined;
  /** Resolves with the pid once the command was exec'd; rejects like `wait()` if it never was. */
  readonly started: Promise<number>;
  /** Streams for the stdio options set to 'pipe' (the defaults for spawn), otherwise null. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /**
   * Resolves when the container has ended and start hooks are torn down. Rejects with the runtime's
   * typed error (CommandNotFoundError, PermissionError, …; `exitCode` 125/126/127), with an AbortError
   * after `options.signal` aborted, or with a TeardownError when cleaning up a hook failed.
   */
  wait(): Promise<ExitStatus>;
  /** Sends a signal to the container's first process; false when the container has already ended. */
  kill(signal?: NodeJS.Signals | number): boolean;
}

/** Default stdio for spawn(): all piped, as child_process.spawn does. */
const SPAWN_STDIO: StdioOption = 'pipe';

/**
 * Starts a container. Throws synchronously (InvalidSpecError, NotFoundError for a missing runtime)
 * when it cannot even begin; everything later arrives through `started` and `wait()`.
 */
export function spawn(options: RunOptions): Container {
  const o = validateOptions(options);
  return new ContainerHandle(o);
}

class ContainerHandle implements Container {
  readonly id = newContainerId();
  readonly name: string | undefined;
  readonly spec: OciSpec;
  readonly started: Promise<number>;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  pid: number | undefined;
  private readonly runtime: RuntimeProcess;
  private readonly finished: Promise<ExitStatus>;
  private readonly teardowns: Teardown[] = [];
  private hookError: unknown;
  private aborted: { reason: unknown } | undefined;
  private resolveStarted!: (pid: number) => void;
  /** What the start hooks see: the options with an image's settings applied (its ports with -P). */
  private readonly hookOptions: ValidatedOptions;

  constructor(private readonly options: ValidatedOptions) {
    this.name = options.name;
    // Hooks' prepare stages (networking's /etc/hosts files) may add volumes; undone if we throw here.
    // An image: its container layer in the store (removed by the teardown) and the config merged in.
    const image = prepareImage(this.id, options);
    this.teardowns.push(...image.teardowns);
    this.hookOptions = image.options;
    let prepared: ReturnType<typeof prepareHooks>;
    try {
      prepared = prepareHooks(this.id, image.options);
    } catch (e) {
      void this.teardown();
      throw e;
    }
    this.teardowns.push(...prepared.teardowns);
    const signal = options.signal;
    try {
      this.spec = buildSpec(prepared.options, { ...image.annotations, ...prepared.annotations }).spec;
      if (signal?.aborted) throw new AbortError(signal.reason);
    } catch (e) {
      void this.teardown();
      throw e;
    }
    const spec = this.spec;
    let rejectStarted!: (e: unknown) => void;
    this.started = new Promise<number>((resolve, reject) => {
      this.resolveStarted = resolve;
      rejectStarted = reject;
    });
    const stdio: [StdioOption, StdioOption, StdioOption] = [
      options.stdin ?? SPAWN_STDIO, options.stdout ?? SPAWN_STDIO, options.stderr ?? SPAWN_STDIO,
    ];
    try {
      this.runtime = new RuntimeProcess(this.id, spec, stdio, {
        created: (pid) => void this.onCreated(pid),
        started: (pid) => {
          this.pid = pid;
          this.resolveStarted(pid);
        },
      }, options.newSession === true);
    } catch (e) {
      void this.teardown();
      throw e;
    }
    this.stdin = this.runtime.child.stdin;
    this.stdout = this.runtime.child.stdout;
    this.stderr = this.runtime.child.stderr;
    const onAbort = () => {
      this.aborted = { reason: signal?.reason };
      this.runtime.send({ type: 'kill', signal: osConstants.signals.SIGKILL });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.finished = this.runtime.done.then(async (outcome) => {
      signal?.removeEventListener('abort', onAbort);
      const teardownErrors = await this.teardown();
      return this.settle(outcome, teardownErrors);
    });
    // Nobody has to await these: failures are reported through wait() too.
    this.finished.then((s) => rejectStarted(new RuntimeError({
      code: 'ERR_RUNTIME', op: 'start', path: null, errno: null,
      message: `the container ended (exit code ${s.exitCode}) before the runtime reported it started`,
    })), rejectStarted);
    this.started.catch(() => {});
    this.finished.catch(() => {});
  }

  wait(): Promise<ExitStatus> {
    return this.finished;
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const num = typeof signal === 'number' ? signal : osConstants.signals[signal];
    if (num === undefined || !Number.isInteger(num) || num < 0 || num > 64) {
      throw new TypeError(`Unknown signal: ${String(signal)}`);
    }
    return this.runtime.send({ type: 'kill', signal: num });
  }

  /** Runs the start hooks (networking) while the runtime holds the command back, then lets it go. */
  private async onCreated(pid: number): Promise<void> {
    this.pid = pid;
    for (const hook of startHooks()) {
      try {
        const t = await hook({ id: this.id, pid, spec: this.spec, options: this.hookOptions });
        if (t) this.teardowns.push(t);
      } catch (e) {
        this.hookError = e;
        // Kill before start: the runtime handles frames in order, so the command never runs.
        this.runtime.send({ type: 'kill', signal: osConstants.signals.SIGKILL });
        break;
      }
    }
    this.runtime.send({ type: 'start' });
  }

  /** Tears down every hook's work in reverse order, carrying on past failures. */
  private async teardown(): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (const t of this.teardowns.reverse()) {
      try {
        await t.teardown();
      } catch (e) {
        errors.push(e);
      }
    }
    return errors;
  }

  private settle(outcome: RuntimeOutcome, teardownErrors: unknown[]): ExitStatus {
    if (this.aborted) throw new AbortError(this.aborted.reason);
    if (this.hookError !== undefined) {
      throw this.hookError instanceof NsboxError ? this.hookError : new RuntimeError(
        { code: 'ERR_RUNTIME', op: 'start hook', path: null, errno: null, message: String((this.hookError as Error)?.message ?? this.hookError) },
      );
    }
    if (outcome.error) throw outcome.error;
    if (teardownErrors.length > 0) throw new TeardownError(teardownErrors);
    // RuntimeProcess guarantees one of error/exited.
    return { exitCode: outcome.exited!.exitCode, signal: outcome.exited!.signal };
  }
}
