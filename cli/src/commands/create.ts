/**
 * `nsbox create [flags] [--] COMMAND…` and `nsbox start CONTAINER…` (docker's names): create makes
 * the container (namespaces, rootfs, network) under its monitor and prints its id, with the command
 * held back; start lets the command run, from any process.
 */
import type { Command } from 'commander';
import type { DetachedRunOptions } from 'nsbox';

import { reportError } from '../report-error.js';
import { runOptionsFromFlags, type RunFlags } from '../run-flags.js';
import { eachContainer, runtimeFor, withRoot, type RootFlags } from './ps-common.js';

type CreateFlags = RunFlags & RootFlags & { logMaxSize?: string };

/** The detached options for `run -d` and `create` from `run`'s flags. */
export function detachedOptions(flags: CreateFlags, command: string[]): DetachedRunOptions {
  const { stdin: _i, stdout: _o, stderr: _e, newSession: _n, interactive: _x, signal: _s, ...opts } = runOptionsFromFlags(flags, command);
  const o: DetachedRunOptions = { ...opts };
  if (flags.rm) o.rm = true;
  if (flags.interactive) o.interactive = true;
  if (flags.logMaxSize !== undefined) o.logMaxSize = Number(flags.logMaxSize);
  return o;
}

/** `create` takes every flag of `run` (but -d): call after `run` has all of its flags. */
export function addCreateCommand(program: Command): void {
  const run = program.commands.find((c) => c.name() === 'run');
  const create = program
    .command('create')
    .description('create a container without starting it; prints its id (start it with `nsbox start`)')
    .usage('[flags] [--] COMMAND [ARG...]')
    .helpOption('--help', 'display help for create')
    .passThroughOptions()
    .argument('<command...>', 'the command and its arguments');
  for (const opt of run?.options ?? []) if (opt.long !== '--detach' && opt.long !== '--help') create.addOption(opt);
  create.action(async (command: string[], flags: CreateFlags) => {
    try {
      const c = await runtimeFor(flags).create(detachedOptions(flags, command));
      process.stdout.write(`${c.id}\n`);
    } catch (e) {
      process.exitCode = reportError(e);
    }
  });
}

export function addStartCommand(program: Command): void {
  withRoot(program.command('start').description('start created containers').argument('<container...>'))
    .action(async (refs: string[], flags: RootFlags) => {
      const rt = runtimeFor(flags);
      process.exitCode = await eachContainer(refs, async (ref) => {
        const c = rt.get(ref);
        // docker: starting a running container does nothing.
        if (c.inspect().status !== 'running') await c.start();
        process.stdout.write(`${ref}\n`);
      });
    });
}
