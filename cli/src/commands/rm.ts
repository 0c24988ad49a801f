/** `nsbox rm [-f] CONTAINER...`: removes containers and everything they left (cgroups, state, log). */
import type { Command } from 'commander';

import { eachContainer, runtimeFor, withRoot, type RootFlags } from './ps-common.js';

export function addRmCommand(program: Command): void {
  withRoot(program.command('rm').description('remove containers').argument('<container...>'))
    .option('-f, --force', 'kill a running container first')
    .action(async (refs: string[], flags: RootFlags & { force?: boolean }) => {
      const rt = runtimeFor(flags);
      process.exitCode = await eachContainer(refs, async (ref) => {
        await rt.get(ref).remove({ force: flags.force === true });
        process.stdout.write(`${ref}\n`);
      });
    });
}
