/** `nsbox completion bash|zsh`: prints the completion script for the shell (see cli/src/completion.ts). */
import { Argument, type Command } from 'commander';

import { bashCompletion, zshCompletion } from '../completion.js';

export function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script (commands, flags, container and network names)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
