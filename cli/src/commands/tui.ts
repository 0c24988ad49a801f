/** `nsbox tui`: the only path that loads the TUI, so other commands start without ink or react. */
import type { Command } from 'commander';

interface TuiModule {
  runTui(): Promise<number>;
}

// A variable, so tsc neither resolves nor bundles the TUI into the start-up path (and builds even
// before cli/src/tui exists).
const TUI_MODULE = '../tui/index.js';

export function addTuiCommand(program: Command): void {
  program
    .command('tui')
    .description('interactive view of containers and namespaces')
    .action(async () => {
      try {
        const { runTui } = (await import(TUI_MODULE)) as TuiModule;
        process.exitCode = await runTui();
      } catch (err) {
        process.stderr.write(`nsbox: tui: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 125;
      }
    });
}
