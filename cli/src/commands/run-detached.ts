/**
 * `nsbox run -d`: adds `-d/--detach` and `--log-max-size` to the existing `run` command and, when
 * -d is given, runs the container detached (a monitor owns it) from a preAction hook, printing its id.
 * run.ts itself is untouched: without -d the hook does nothing.
 */
import type { Command } from 'commander';
import { pullForRun } from '../registry/pull-output.js';
import { reportError } from '../report-error.js';
import type { RunFlags } from '../run-flags.js';
import { detachedOptions } from './create.js';
import { runtimeFor } from './ps-common.js';

export function addDetachFlags(program: Command): void {
  const run = program.commands.find((c) => c.name() === 'run');
  if (!run) return;
  run
    .option('-d, --detach', 'run in the background under a monitor and print the container id')
    .option('--log-max-size <BYTES>', 'with -d: rotate the log at this size (default 10 MiB)')
    .option('--root <DIR>', 'with -d: state root (default NSBOX_ROOT, /run/nsbox as root)')
    .hook('preAction', async (cmd) => {
      const flags = cmd.opts<RunFlags & { detach?: boolean; logMaxSize?: string; root?: string }>();
      if (!flags.detach) return;
      let code = 0;
      try {
        // -i: stdin stays open through the monitor, for `nsbox attach` to write to (docker's -d -i).
        const c = await runtimeFor(flags).run(await pullForRun(detachedOptions(flags, cmd.args)));
        process.stdout.write(`${c.id}\n`);
      } catch (e) {
        code = reportError(e);
      }
      process.exit(code);
    });
}
