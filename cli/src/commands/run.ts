/** `nsbox run [flags] [--] COMMAND [ARG...]`: a foreground container on the caller's own stdio. */
import type { Command } from 'commander';
import { spawn } from 'nsbox';

import { forwardSignals } from '../forward-signals.js';
import { pullForRun } from '../registry/pull-output.js';
import { reportError } from '../report-error.js';
import { addResourceFlags, printResourceWarnings } from '../resource-flags.js';
import { collect, flagError, runOptionsFromFlags, type RunFlags } from '../run-flags.js';

export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a command in new namespaces, in the foreground')
    .usage('[flags] IMAGE [COMMAND [ARG...]]  |  [flags] -- COMMAND [ARG...]')
    // docker uses -h for --hostname, so help is --help only.
    .helpOption('--help', 'display help for run')
    // Flags after COMMAND belong to it, as with docker.
    .passThroughOptions()
    .argument('<command...>', 'IMAGE [COMMAND...], or after -- a command on the host view or --rootfs')
    .option('--rm', 'remove the container when it exits (foreground runs leave nothing behind anyway)')
    .option('--name <NAME>', 'a name for the container')
    .option('-h, --hostname <NAME>', 'hostname inside (uts namespace)')
    .option('--domainname <NAME>', 'NIS domain name inside (uts namespace)')
    .option('--rootfs <DIR>', 'root filesystem directory (default: the host root, read-only)')
    .option('--entrypoint <CMD>', "replace the image's Entrypoint (and its Cmd); '' clears it")
    .option('--pull <POLICY>', 'always, missing (default) or never')
    .option('--platform <OS/ARCH[/VARIANT]>', 'the platform to pull from a multi-platform image (default: this machine)')
    .option('--ns <LIST>', 'namespaces to create, e.g. pid,uts,user or all (repeatable)', collect)
    .option('--uidmap <IN:OUT:LEN>', 'uid map range, as in /proc/PID/uid_map (repeatable)', collect)
    .option('--gidmap <IN:OUT:LEN>', 'gid map range, as in /proc/PID/gid_map (repeatable)', collect)
    .option('--map-root-user', 'map your uid and gid to root inside a user namespace')
    .option('-e, --env <KEY=VALUE>', 'set a variable; -e KEY passes yours through (repeatable)', collect)
    .option('-w, --workdir <DIR>', 'working directory inside')
    .option('-u, --user <UID[:GID]>', 'user (and group) to run the command as')
    .option('--cap-add <CAP>', 'add a capability (repeatable)', collect)
    .option('--cap-drop <CAP>', 'drop a capability, or ALL (repeatable)', collect)
    .option('--privileged', 'all capabilities, no masked paths, no no_new_privs')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-v, --volume <HOST:CTR[:ro]>', 'bind-mount a host path (repeatable)', collect)
    .option('--init', 'run a tiny init as PID 1 that forwards signals and reaps zombies')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-i, --interactive', 'keep stdin attached')
    .option('--boottime-offset <SECS>', 'shift CLOCK_BOOTTIME inside (time namespace; negative allowed)')
    .option('--monotonic-offset <SECS>', 'shift CLOCK_MONOTONIC inside (time namespace; negative allowed)')
    .option('--network <NAME>', "network: host, none, a network's name, or rootless pasta[:--map-gw] / slirp4netns[:allow_host_loopback=true]")
    .option('--ip <ADDR>', 'IP address on the network')
    .option('--mac-address <MAC>', 'MAC address on the network')
    .option('-p, --publish <[IP:]HOST:CTR[/PROTO]>', 'publish a container port on the host (repeatable)', collect)
    .option('-P, --publish-all', "publish each of the image's exposed ports on a free host port")
    .option('--dns <ADDR>', 'name server (repeatable)', collect)
    .option('--device <HOST[:CTR][:rwm]>', 'give the container a host device (repeatable)', collect)
    .option('--device-cgroup-rule <RULE>', "allow devices by number, e.g. 'c 1:3 rwm' (repeatable)", collect)
    .option('--security-opt <OPT>', 'seccomp=unconfined|PROFILE.json, no-new-privileges[=false] (repeatable)', collect);
  addResourceFlags(program.commands.find((c) => c.name() === 'run')!)
    .action(async (command: string[], flags: RunFlags) => {
      process.exitCode = await runForeground(command, flags);
    });
}

async function runForeground(command: string[], flags: RunFlags): Promise<number> {
  let stopForwarding = () => {};
  try {
    // As docker does: a pty fed from a pipe never sees end-of-input, so the command would wait forever.
    if (flags.tty && flags.interactive && !process.stdin.isTTY) throw flagError('--tty', 'the input device is not a TTY (drop -t, or run from a terminal)');
    // docker's order: flags checked, then the image pulled if the policy says so, then the container.
    const parsed = runOptionsFromFlags(flags, command);
    printResourceWarnings(parsed.resources);
    const options = await pullForRun(parsed);
    const container = spawn(options);
    stopForwarding = forwardSignals(container);
    const status = await container.wait();
    return status.exitCode;
  } catch (err) {
    return reportError(err);
  } finally {
    stopForwarding();
  }
}
