/** `run()`: spawn a container, collect what it printed, resolve when it has ended. */
import type { Readable } from 'node:stream';

import { spawn, type ExitStatus } from './container.js';
import { ensureImage } from './images/ensure.js';
import { validateOptions, type RunOptions } from './options.js';

export interface RunResult extends ExitStatus {
  /** What the command wrote, when `stdout` is 'pipe' (the default for run). */
  stdout?: string;
  /** What the command wrote, when `stderr` is 'pipe' (the default for run). */
  stderr?: string;
}

/**
 * Runs a command in a new container and waits for it. Defaults differ from spawn(): stdout and
 * stderr are 'pipe' (collected as UTF-8 strings), stdin is 'ignore' ('inherit' with `interactive`).
 * Rejects like `Container.wait()`: a typed NsboxError (exitCode 125/126/127), AbortError, TeardownError.
 * A command that merely exits non-zero resolves with its exitCode.
 */
export async function run(options: RunOptions): Promise<RunResult> {
  // An image the policy says to pull is pulled before the container is made (spawn() cannot wait);
  // bad options are refused first, before anything is fetched.
  validateOptions(options);
  const o = await ensureImage(options, options.signal ? { signal: options.signal } : {});
  const c = spawn({
    ...o,
    stdin: options.stdin ?? (options.interactive ? 'inherit' : 'ignore'),
    stdout: options.stdout ?? 'pipe',
    stderr: options.stderr ?? 'pipe',
  });
  const [status, stdout, stderr] = await Promise.all([c.wait(), collect(c.stdout), collect(c.stderr)]);
  const result: RunResult = { ...status };
  if (stdout !== undefined) result.stdout = stdout;
  if (stderr !== undefined) result.stderr = stderr;
  return result;
}

async function collect(stream: Readable | null): Promise<string | undefined> {
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  // A stream error (EPIPE and the like) ends collection; the exit status reports what happened.
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch {
    /* keep what arrived */
  }
  return Buffer.concat(chunks).toString('utf8');
}
