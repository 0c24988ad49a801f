/** How the CLI reports failures: one line on stderr, docker's exit codes. */
import { NsboxError } from 'nsbox';

import { withFlagNames } from './resource-flags.js';

/** Prints `nsbox: op(path): CODE: message` (or the error's message) and returns the exit code to use. */
export function reportError(caught: unknown): number {
  const err = withFlagNames(caught);
  if (err instanceof NsboxError) {
    process.stderr.write(`nsbox: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`nsbox: ${message}\n`);
  return 125;
}
