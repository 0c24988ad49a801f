/**
 * Spawning `nsbox-runtime` for lifecycle commands. Node only forks+execs it (libuv); the runtime
 * does every namespace operation, and a detached container's monitor outlives this process.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';

import { protocolError, type NsboxError } from '../errors.js';
import { encodeFrame, FrameDecoder, type FromRuntime, type ToRuntime } from '../frames.js';
import { runtimePath } from '../runtime-process.js';
import { fromLifecycleWire, fromStderr } from './errors.js';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nsbox-runtime --root ROOT --json ARGS…` to completion; `input`, if given, is its stdin. */
export function runtimeCommand(root: string, args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(runtimePath(), ['--root', root, '--json', ...args], { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(input);
    }
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Like runtimeCommand, but a non-zero exit becomes the runtime's typed error. */
export async function runtimeCommandOk(root: string, op: string, args: string[], input?: string): Promise<string> {
  const r = await runtimeCommand(root, args, input);
  if (r.code !== 0) throw fromStderr(op, r.stderr, r.code);
  return r.stdout;
}

export interface ControlSession {
  /** Sends a frame; false once the runtime cannot hear us. */
  send(msg: ToRuntime): boolean;
  /** Resolves when the runtime has exited and its control socket closed: every frame, and the exit code. */
  done: Promise<{ frames: FromRuntime[]; error: NsboxError | undefined; code: number | null }>;
  child: ReturnType<typeof spawn>;
}

/**
 * Spawns the runtime with fd 3 as its control socket (docs/protocol.md) and hands each frame to
 * `onFrame` as it arrives.
 */
export function controlSession(root: string, args: string[], stdio: StdioOptions, onFrame: (f: FromRuntime) => void): ControlSession {
  const base = Array.isArray(stdio) ? stdio : [stdio, stdio, stdio];
  const child = spawn(runtimePath(), ['--root', root, '--json', ...args], { stdio: [...base.slice(0, 3), 'pipe'] });
  const control = child.stdio[3] as Duplex;
  const frames: FromRuntime[] = [];
  let error: NsboxError | undefined;
  let open = true;
  const decoder = new FrameDecoder();
  const closed = new Promise<void>((resolve) => {
    control.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) {
          frames.push(f);
          if (f.type === 'error') error ??= fromLifecycleWire(f);
          onFrame(f);
        }
      } catch (e) {
        error ??= e as NsboxError;
        control.destroy();
      }
    });
    control.on('error', () => {});
    control.on('close', () => {
      open = false;
      resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      error ??= protocolError('spawn nsbox-runtime', e.message);
      control.destroy();
      resolve(null);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : null)));
  });
  const done = Promise.all([exited, closed]).then(([code]) => ({ frames, error, code }));
  return {
    child,
    done,
    send: (msg) => {
      if (!open || control.destroyed) return false;
      control.write(encodeFrame(msg));
      return true;
    },
  };
}
