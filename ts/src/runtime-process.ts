/**
 * Spawning `nsbox-runtime` and speaking its control protocol (docs/protocol.md). Node only forks and
 * execs it (libuv does both at once), so no thread of ours ever enters a namespace.
 */
import { spawn as spawnChild, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Duplex } from 'node:stream';

import { fromWire, protocolError, type NsboxError } from './errors.js';
import { encodeFrame, FrameDecoder, type FromRuntime, type ToRuntime } from './frames.js';
import type { StdioOption } from './options.js';
import { missingBinary, runtimePath } from './platform.js';
import { randomHex } from './random.js';

export { runtimePath };

/** A container id: 64 hex digits, like docker's. */
export function newContainerId(): string {
  return randomHex(32);
}

/** How the runtime ended, as far as the protocol told us. */
export interface RuntimeOutcome {
  /** The `exited` frame, when the container's first process ran and ended. */
  exited?: { exitCode: number; signal: string | null };
  /** The `error` frame, or a protocol failure of ours (runtime died without reporting, garbage frames). */
  error?: NsboxError;
}

export interface RuntimeHandlers {
  /** Only with the wait-start annotation: the runtime waits for a `start` frame after this. */
  created?(pid: number): void;
  started?(pid: number): void;
}

/** One `nsbox-runtime run --config-fd 3 --control-fd 3 ID` process and its control socket. */
export class RuntimeProcess {
  readonly child: ChildProcess;
  /**
   * Resolves once the control socket is drained (so no frame is lost) and either the runtime has
   * exited or it reported `exited` before closing the socket.
   */
  readonly done: Promise<RuntimeOutcome>;
  private readonly control: Duplex;
  private readonly outcome: RuntimeOutcome = {};
  private controlOpen = true;

  constructor(
    readonly id: string,
    spec: unknown,
    stdio: [StdioOption, StdioOption, StdioOption],
    private readonly handlers: RuntimeHandlers = {},
    newSession = false,
  ) {
    const bin = runtimePath();
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      throw missingBinary('runtime', bin);
    }
    // fd 3 is a socketpair (libuv creates one for 'pipe'): config and commands go in, reports come out.
    const stdioOpts: StdioOptions = [...stdio, 'pipe'];
    this.child = spawnChild(bin, ['run', '--config-fd', '3', '--control-fd', '3', id], { stdio: stdioOpts, detached: newSession });
    const control = this.child.stdio[3] as Duplex | null;
    if (!control) throw protocolError('spawn nsbox-runtime', 'no control socket was created for the runtime');
    this.control = control;
    this.done = this.watch();
    this.send({ type: 'config', spec });
  }

  /** Sends a frame; false when the runtime can no longer hear us (it has ended). */
  send(msg: ToRuntime): boolean {
    if (!this.controlOpen || this.control.destroyed) return false;
    this.control.write(encodeFrame(msg));
    return true;
  }

  private watch(): Promise<RuntimeOutcome> {
    const decoder = new FrameDecoder();
    const controlClosed = new Promise<void>((resolve) => {
      this.control.on('data', (chunk: Buffer) => {
        try {
          for (const frame of decoder.push(chunk)) this.onFrame(frame);
        } catch (e) {
          this.outcome.error ??= e as NsboxError;
          this.control.destroy();
        }
      });
      // EPIPE/ECONNRESET when the runtime dies first: its exit status says what happened.
      this.control.on('error', () => {});
      this.control.on('close', () => {
        this.controlOpen = false;
        if (decoder.pending > 0) this.outcome.error ??= protocolError('read frame', 'the runtime closed its control socket mid-frame');
        resolve();
      });
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      this.child.on('error', (e: NodeJS.ErrnoException) => {
        this.outcome.error ??= fromWire({ code: e.code ?? 'ERR_RUNTIME', op: 'spawn nsbox-runtime', path: runtimePath(), errno: null, message: e.message });
        this.control.destroy();
        resolve({ code: null, signal: null });
      });
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    // The control socket closed after `exited`: the container ended and is cleaned up; what the
    // runtime still does (deleting an image container's writable layer it already moved out of the
    // store's containers/, docs/protocol.md) nobody waits for, so it no longer holds our loop either.
    const reported = controlClosed.then(() => (this.outcome.exited ? null : new Promise<never>(() => {})));
    const ended = Promise.all([exited, controlClosed]).then(([status]) => status);
    return Promise.race([ended, reported]).then((status) => {
      if (status === null) this.child.unref();
      else if (!this.outcome.exited && !this.outcome.error) {
        const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
        this.outcome.error = protocolError('nsbox-runtime', `the runtime ${how} without reporting how the container ended`);
      }
      return this.outcome;
    });
  }

  private onFrame(frame: FromRuntime): void {
    switch (frame.type) {
      case 'created':
        this.handlers.created?.(frame.pid);
        break;
      case 'started':
        this.handlers.started?.(frame.pid);
        break;
      case 'error':
        this.outcome.error ??= fromWire(frame);
        break;
      case 'exited':
        this.outcome.exited = { exitCode: frame.exitCode, signal: frame.signal };
        break;
    }
  }
}
