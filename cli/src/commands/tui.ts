/** `nsbox tui`: the only path that loads the TUI, so other commands start without ink or react. */
import type { Command } from 'commander';

import type { RunTuiOptions } from '../tui/index.js';

interface TuiModule {
  runTui(options?: RunTuiOptions): Promise<number>;
}

/**
 * ink decides once, when it is imported, whether it runs under CI (a `CI` or
 * `CONTINUOUS_INTEGRATION` variable), and there it draws only the last frame, on exit. A dashboard on
 * a real terminal must draw every frame, wherever the shell's variables came from, so ink is
 * imported with those variables neutralised, and they are put back right after.
 */
export async function importInteractive(): Promise<TuiModule> {
  const keys = ['CI', 'CONTINUOUS_INTEGRATION'] as const;
  const saved = keys.map((k) => [k, process.env[k]] as const);
  if (process.stdin.isTTY && process.stdout.isTTY) for (const k of keys) if (k in process.env) process.env[k] = 'false';
  try {
    // A dynamic import: the CLI bundle (cli/build.mjs) puts the TUI, ink and react in their own file.
    return (await import('../tui/index.js')) as TuiModule;
  } finally {
    for (const [k, v] of saved) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

export function addTuiCommand(program: Command): void {
  program
    .command('tui')
    .description('interactive view of containers and namespaces')
    .action(async () => {
      try {
        const { runTui } = await importInteractive();
        process.exitCode = await runTui();
      } catch (err) {
        process.stderr.write(`nsbox: tui: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 125;
      }
    });
}
