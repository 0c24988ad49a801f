/** `nsbox attach CONTAINER`: the terminal to a detached container, through its monitor (nsbox-runtime attach). */
import { spawn } from 'node:child_process';

import type { Command } from 'commander';
import { runtimePath } from 'nsbox';

import { reportError } from '../report-error.js';
import { runtimeFor, withRoot, type RootFlags } from './ps-common.js';

export function addAttachCommand(program: Command): void {
  withRoot(program.command('attach').description("attach the terminal to a running container's output (and pty input)").argument('<container>'))
    .option('--no-stdin', 'do not attach stdin')
    .action(async (ref: string, flags: RootFlags & { stdin: boolean }) => {
      try {
        const rt = runtimeFor(flags);
        const c = rt.get(ref);
        const args = ['--root', rt.root, 'attach', ...(flags.stdin ? [] : ['--no-stdin']), c.id];
        const child = spawn(runtimePath(), args, { stdio: 'inherit' });
        process.on('SIGINT', () => {});
        process.exitCode = await new Promise<number>((resolve) => {
          child.on('error', () => resolve(125));
          child.on('exit', (code) => resolve(code ?? 125));
        });
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
}
