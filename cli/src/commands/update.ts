/**
 * `nsbox update [flags] CONTAINER…` (docker's): new memory, CPU, cpuset, pids and I/O limits for
 * created, running or paused containers, through `nsbox-runtime update --resources -`.
 */
import type { Command } from 'commander';

import { reportError } from '../report-error.js';
import { addResourceFlags, printResourceWarnings, resourcesFromFlags } from '../resource-flags.js';
import { flagError } from '../run-flags.js';
import { eachContainer, runtimeFor, withRoot, type RootFlags } from './ps-common.js';

export function addUpdateCommand(program: Command): void {
  const cmd = withRoot(program.command('update').description("change containers' resource limits").argument('<container...>'));
  addResourceFlags(cmd, true).action(async (refs: string[], flags: RootFlags & Record<string, unknown>) => {
    let resources;
    try {
      resources = resourcesFromFlags(flags);
      if (!resources) throw flagError('update', 'nothing to update: give at least one flag (see nsbox update --help)');
    } catch (e) {
      process.exitCode = reportError(e);
      return;
    }
    printResourceWarnings(resources);
    const rt = runtimeFor(flags);
    process.exitCode = await eachContainer(refs, async (ref) => {
      await rt.get(ref).update(resources);
      process.stdout.write(`${ref}\n`);
    });
  });
}
