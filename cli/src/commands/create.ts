/**
 * `nsbox create [flags] [--] COMMAND…` and `nsbox start CONTAINER…` (docker's names): create makes
 * the container (namespaces, rootfs, network) under its monitor and prints its id, with the command
 * held back; start lets the command run, from any process.
 */
import type { Command } from 'commander';
import type { DetachedRunOptions } from 'nsbox';

import { spawn } from 'node:child_process';

import { runtimePath, type RuntimeContainer } from 'nsbox';

import { pullForRun } from '../registry/pull-output.js';
import { reportError } from '../report-error.js';
import { printResourceWarnings } from '../resource-flags.js';
import { flagError, runOptionsFromFlags, type RunFlags } from '../run-flags.js';
import { eachContainer, runtimeFor, withRoot, type RootFlags } from './ps-common.js';

type CreateFlags = RunFlags & RootFlags & { logMaxSize?: string };

/** The detached options for `run -d` and `create` from `run`'s flags. */
export function detachedOptions(flags: CreateFlags, command: string[]): DetachedRunOptions {
  const { stdin: _i, stdout: _o, stderr: _e, newSession: _n, interactive: _x, signal: _s, ...opts } = runOptionsFromFlags(flags, command);
  printResourceWarnings(opts.resources);
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
    .usage('[flags] IMAGE [COMMAND [ARG...]]  |  [flags] -- COMMAND [ARG...]')
    .helpOption('--help', 'display help for create')
    .passThroughOptions()
    .argument('<command...>', 'the command and its arguments');
  for (const opt of run?.options ?? []) if (opt.long !== '--detach' && opt.long !== '--help') create.addOption(opt);
  create.action(async (command: string[], flags: CreateFlags) => {
    try {
      const c = await runtimeFor(flags).create(await pullForRun(detachedOptions(flags, command)));
      process.stdout.write(`${c.id}\n`);
    } catch (e) {
      process.exitCode = reportError(e);
    }
  });
}

export function addStartCommand(program: Command): void {
  withRoot(program.command('start').description('start created containers').argument('<container...>'))
    .option('-a, --attach', "stay for the container's output; exit with its exit code")
    .action(async (refs: string[], flags: RootFlags & { attach?: boolean }) => {
      const rt = runtimeFor(flags);
      if (flags.attach) {
        process.exitCode = refs.length === 1 ? await startAttached(rt.root, rt.get(refs[0]!)) : reportError(flagError('--attach', 'one container at a time'));
        return;
      }
      process.exitCode = await eachContainer(refs, async (ref) => {
        const c = rt.get(ref);
        // docker: starting a running container does nothing.
        if (c.inspect().status !== 'running') await c.start();
        process.stdout.write(`${ref}\n`);
      });
    });
}

/**
 * `start -a`: the runtime's `start --attach` sends START over a connection that already receives the
 * container's output, so none is missed; a running container is attached to instead (as docker does).
 */
async function startAttached(root: string, c: RuntimeContainer): Promise<number> {
  try {
    const running = c.inspect().status === 'running';
    const args = ['--root', root, ...(running ? ['attach', '--no-stdin'] : ['start', '--attach']), c.id];
    const child = spawn(runtimePath(), args, { stdio: ['ignore', 'inherit', 'inherit'] });
    return await new Promise<number>((resolve) => {
      child.on('error', () => resolve(125));
      child.on('exit', (code) => resolve(code ?? 125));
    });
  } catch (e) {
    return reportError(e);
  }
}
