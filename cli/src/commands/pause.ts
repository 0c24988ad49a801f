/** `nsbox pause` / `nsbox unpause`: freeze and thaw every process of containers (docker's commands). */
import type { Command } from 'commander';

import { eachContainer, runtimeFor, withRoot, type RootFlags } from './ps-common.js';

export function addPauseCommands(program: Command): void {
  for (const [name, description] of [
    ['pause', 'freeze every process of containers (their cgroup freezer)'],
    ['unpause', 'thaw paused containers'],
  ] as const) {
    withRoot(program.command(name).description(description).argument('<container...>'))
      .action(async (refs: string[], flags: RootFlags) => {
        const rt = runtimeFor(flags);
        process.exitCode = await eachContainer(refs, async (ref) => {
          const c = rt.get(ref);
          await (name === 'pause' ? c.pause() : c.unpause());
          process.stdout.write(`${ref}\n`);
        });
      });
  }
}
