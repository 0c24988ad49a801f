/** `nsbox logs [-f] [--tail N] [-t] CONTAINER`: the log the monitor recorded, stdout and stderr apart. */
import type { Command } from 'commander';

import { reportError } from '../report-error.js';
import { runtimeFor, withRoot, type RootFlags } from './ps-common.js';

interface LogsFlags extends RootFlags {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
}

export function addLogsCommand(program: Command): void {
  withRoot(program.command('logs').description("fetch a container's logs").argument('<container>'))
    .option('-f, --follow', 'follow the output until the container ends')
    .option('-n, --tail <N>', "number of lines from the end ('all' by default)")
    .option('-t, --timestamps', 'show timestamps')
    .action(async (ref: string, flags: LogsFlags) => {
      try {
        const tail = flags.tail === undefined || flags.tail === 'all' ? undefined : Number(flags.tail);
        if (tail !== undefined && !Number.isInteger(tail)) throw new Error(`--tail: ${JSON.stringify(flags.tail)} is not a number`);
        const ac = new AbortController();
        process.once('SIGINT', () => ac.abort());
        const c = runtimeFor(flags).get(ref);
        for await (const e of c.logs({ follow: flags.follow === true, signal: ac.signal, ...(tail === undefined ? {} : { tail }) })) {
          const out = e.stream === 'stderr' ? process.stderr : process.stdout;
          out.write(flags.timestamps ? `${e.time} ${e.log}` : e.log);
        }
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
}
