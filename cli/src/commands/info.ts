/** `nsbox info [--format json]`: docker's `info` for nsbox — versions, kernel features, roots, counts, remedies. */
import type { Command } from 'commander';
import { hostInfo } from 'nsbox';

import { formatHostInfo } from '../host-info-lines.js';
import { reportError } from '../report-error.js';
import { withRoot, type RootFlags } from './ps-common.js';

export function addInfoCommand(program: Command): void {
  withRoot(program.command('info').description('display what this host offers nsbox: versions, kernel features, roots, counts'))
    .option('--format <FORMAT>', "'table' (default) or 'json'")
    .action(async (flags: RootFlags & { format?: string }) => {
      try {
        if (flags.format && flags.format !== 'json' && flags.format !== 'table') throw new Error(`unknown --format ${JSON.stringify(flags.format)} (table or json)`);
        const info = await hostInfo(flags.root ? { root: flags.root } : {});
        process.stdout.write(flags.format === 'json' ? `${JSON.stringify(info, null, 2)}\n` : `${formatHostInfo(info).join('\n')}\n`);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
}
