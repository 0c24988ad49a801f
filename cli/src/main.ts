#!/usr/bin/env node
/**
 * The `nsbox` CLI. cli/build.mjs bundles it into one file with commander and the library; Node's
 * modules that only some commands use, and the addon, load on first use; the TUI (ink, react) is a
 * file of its own that only `nsbox tui` imports. Only the command named on the command line is
 * defined (commands/index.ts).
 */
import { Command } from 'commander';
import { coreVersion, version } from 'nsbox';

import { addCommands } from './commands/index.js';
import { addExamples } from './help-examples.js';

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

addCommands(program, process.argv.slice(2));
addExamples(program);

void program.parseAsync(process.argv);
