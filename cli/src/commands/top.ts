/** `nsbox top CONTAINER`: its processes, with the pid inside and on the host. */
import type { Command } from 'commander';

import { reportError } from '../report-error.js';
import { runtimeFor, table, withRoot, type RootFlags } from './ps-common.js';

export function addTopCommand(program: Command): void {
  withRoot(program.command('top').description('display the processes of a container').argument('<container>'))
    .option('--format <FORMAT>', "'table' (default) or 'json'")
    .action((ref: string, flags: RootFlags & { format?: string }) => {
      try {
        const procs = runtimeFor(flags).get(ref).top();
        if (flags.format === 'json') process.stdout.write(`${JSON.stringify(procs)}\n`);
        else process.stdout.write(table([['UID', 'PID', 'PPID', 'PID INSIDE', 'CMD'], ...procs.map((p) => [String(p.uid), String(p.pid), String(p.ppid), String(p.nsPid ?? '-'), p.command])]));
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
}
