#!/usr/bin/env node
/**
 * The `nsbox` CLI. Start-up loads only commander and the library's facade (the addon itself is
 * loaded on first use); the TUI's modules are imported only by `nsbox tui`.
 */
import { Command } from 'commander';
import { coreVersion, version } from 'nsbox';

import { addNetworkCommand } from './commands/network.js';
import { addNsCommand } from './commands/ns.js';
import { addRunCommand } from './commands/run.js';
import { addTuiCommand } from './commands/tui.js';
import { addLifecycleCommands } from './commands/ps.js';

const program = new Command('nsbox')
  .description('Linux containers from Node.js: real namespaces, id maps and root filesystems')
  .enablePositionalOptions()
  .option('-V, --version', 'print the versions of nsbox and its Rust core')
  .on('option:version', () => {
    process.stdout.write(`nsbox ${version} (core ${coreVersion()})\n`);
    process.exit(0);
  });

// Bad flags or arguments are usage errors: docker's 125. Set before adding commands, which inherit it.
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 125);
});

addRunCommand(program);
addNsCommand(program);
addNetworkCommand(program);
addTuiCommand(program);
addLifecycleCommands(program);

await program.parseAsync(process.argv);
