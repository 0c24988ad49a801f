/**
 * `nsbox pull [--platform os/arch[/variant]] [-q] IMAGE` and `nsbox push IMAGE`, with docker's output.
 * Exit code 125 when the pull or push fails (an unknown image or tag, a registry that refuses or is
 * unreachable, wrong credentials, a corrupt blob, a full disk), as for every image command and as
 * podman does for its own errors; docker's pull/push exit 1 there. Bad flags: 125 too (commander).
 */
import type { Command } from 'commander';
import { pull, push } from 'nsbox';

import { ProgressPrinter } from '../registry/progress.js';
import { PullLines } from '../registry/pull-output.js';

interface PullFlags {
  platform?: string;
  quiet?: boolean;
}

/** One line on stderr naming the reference; exit 125 (the CLI's own failures, as in podman). */
export function failPull(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`nsbox: ${message}\n`);
  return 125;
}

function abortOnSignals(): AbortController {
  const ac = new AbortController();
  const stop = () => ac.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return ac;
}

export function addPullCommand(program: Command): void {
  program
    .command('pull')
    .description('download an image from a registry')
    .argument('<image>', 'NAME[:TAG|@DIGEST], e.g. alpine or 127.0.0.1:5000/team/app:1.4')
    .option('--platform <os/arch[/variant]>', 'the platform to choose from a multi-platform image (default: this machine)')
    .option('-q, --quiet', 'print only the image reference')
    .action(async (image: string, flags: PullFlags) => {
      const out = process.stdout;
      const lines = new PullLines(out, image, flags.quiet === true);
      const ac = abortOnSignals();
      try {
        const result = await pull(image, { platform: flags.platform, signal: ac.signal, onProgress: lines.onProgress });
        lines.done(result);
        out.write(`${result.reference}\n`);
        process.exitCode = 0;
      } catch (err) {
        lines.printer.finish();
        process.exitCode = failPull(err);
      }
    });
}

export function addPushCommand(program: Command): void {
  program
    .command('push')
    .description('upload an image of the store to its registry')
    .argument('<image>', 'NAME[:TAG], e.g. 127.0.0.1:5000/team/app:1.4')
    .option('-q, --quiet', 'print only the digest line')
    .action(async (image: string, flags: { quiet?: boolean }) => {
      const out = process.stdout;
      const printer = new ProgressPrinter(out, out.isTTY === true && !flags.quiet, true);
      const ac = abortOnSignals();
      try {
        const result = await push(image, {
          signal: ac.signal,
          onProgress: (e) => {
            if (flags.quiet) return;
            if (e.kind === 'resolved') out.write(`The push refers to repository [${e.reference.replace(/[:@][^/]*$/, '')}]\n`);
            printer.handle(e);
          },
        });
        printer.finish();
        const tag = result.reference.match(/:([^/:@]+)$/)?.[1] ?? result.digest;
        out.write(`${tag}: digest: ${result.digest} size: ${result.size}\n`);
        process.exitCode = 0;
      } catch (err) {
        printer.finish();
        process.exitCode = failPull(err);
      }
    });
}
