/**
 * `nsbox exec [-i] [-t] [-e K=V] [-w DIR] [-u UID[:GID]] CONTAINER COMMAND [ARG...]`. The runtime gets
 * the CLI's own stdio (nothing is copied through Node) and joins the container's namespaces itself.
 */
import type { Command } from 'commander';

import { reportError } from '../report-error.js';
import { collect } from '../run-flags.js';
import { runtimeFor, withRoot, type RootFlags } from './ps-common.js';

interface ExecFlags extends RootFlags {
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
}

export function addExecCommand(program: Command): void {
  withRoot(program.command('exec').description('run a command in a running container'))
    .usage('[flags] CONTAINER COMMAND [ARG...]')
    .passThroughOptions()
    .argument('<container>')
    .argument('<command...>')
    .option('-i, --interactive', 'keep stdin attached')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-e, --env <KEY=VALUE>', 'set a variable (repeatable)', collect)
    .option('-w, --workdir <DIR>', 'working directory inside')
    .option('-u, --user <UID[:GID]>', 'user (and group) to run as')
    .action(async (ref: string, command: string[], flags: ExecFlags) => {
      try {
        const c = runtimeFor(flags).get(ref);
        const env = (flags.env ?? []).map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`));
        const p = c.exec(command, {
          env, tty: flags.tty === true, stdin: flags.interactive || flags.tty ? 'inherit' : 'ignore', stdout: 'inherit', stderr: 'inherit',
          ...(flags.workdir === undefined ? {} : { cwd: flags.workdir }),
          ...(flags.user === undefined ? {} : { user: flags.user }),
        });
        // The runtime shares our terminal and forwards what it receives; we must outlive it.
        const relay = (sig: NodeJS.Signals) => () => void p.kill(sig);
        const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, relay(s)] as const);
        for (const [s, h] of handlers) process.on(s, h);
        const status = await p.wait();
        for (const [s, h] of handlers) process.off(s, h);
        process.exitCode = status.exitCode;
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
}
