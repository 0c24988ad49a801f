/** `nsbox stop [-t SECS]`, `nsbox kill [-s SIG]`, `nsbox wait`: signals and exit statuses. */
import type { Command } from 'commander';

import { eachContainer, runtimeFor, withRoot, type RootFlags } from './ps-common.js';

export function addStopCommand(program: Command): void {
  withRoot(program.command('stop').description('stop containers: SIGTERM, then SIGKILL after a timeout').argument('<container...>'))
    .option('-t, --time <SECS>', 'seconds to wait before SIGKILL', '10')
    .option('-s, --signal <SIG>', 'signal to send first', 'SIGTERM')
    .action(async (refs: string[], flags: RootFlags & { time: string; signal: string }) => {
      const timeout = Number(flags.time);
      const rt = runtimeFor(flags);
      process.exitCode = await eachContainer(refs, async (ref) => {
        await rt.get(ref).stop({ timeout: Number.isFinite(timeout) ? timeout : 10, signal: flags.signal });
        process.stdout.write(`${ref}\n`);
      });
    });
}

export function addKillCommand(program: Command): void {
  withRoot(program.command('kill').description('send a signal to containers (default SIGKILL)').argument('<container...>'))
    .option('-s, --signal <SIG>', 'signal name or number', 'SIGKILL')
    .action(async (refs: string[], flags: RootFlags & { signal: string }) => {
      const rt = runtimeFor(flags);
      process.exitCode = await eachContainer(refs, async (ref) => {
        await rt.get(ref).kill(flags.signal);
        process.stdout.write(`${ref}\n`);
      });
    });
}

export function addWaitCommand(program: Command): void {
  withRoot(program.command('wait').description('wait for containers to end and print their exit codes').argument('<container...>'))
    .action(async (refs: string[], flags: RootFlags) => {
      const rt = runtimeFor(flags);
      process.exitCode = await eachContainer(refs, async (ref) => {
        const s = await rt.get(ref).wait();
        process.stdout.write(`${s.exitCode}\n`);
      });
    });
}
