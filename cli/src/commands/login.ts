/**
 * `nsbox login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `nsbox logout [SERVER]`, docker's
 * words; exit 125 when the registry refuses or the credentials are wrong (docker: 1; podman: 125).
 * Credentials go to $XDG_CONFIG_HOME/nsbox/auth.json (mode 0600), never into docker's config.json;
 * SERVER defaults to Docker Hub, as in docker.
 */
import { createInterface } from 'node:readline';

import type { Command } from 'commander';
import { login, logout } from 'nsbox';

import { failPull } from './pull.js';

const HUB = 'https://index.docker.io/v1/';

interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** A prompt on the terminal; `secret` hides what is typed. */
function ask(question: string, secret: boolean): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (secret) {
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput.bind(rl);
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => write(s.startsWith(question) ? question : '');
  }
  return new Promise((resolve) =>
    rl.question(question, (a) => {
      rl.close();
      if (secret) process.stderr.write('\n');
      resolve(a);
    }),
  );
}

export function addLoginCommands(program: Command): void {
  program
    .command('login')
    .description('log in to a registry (credentials stored 0600 in $XDG_CONFIG_HOME/nsbox/auth.json)')
    .argument('[server]', 'host[:port] of the registry (default: Docker Hub)')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (server: string | undefined, flags: LoginFlags) => {
      try {
        const target = server ?? HUB;
        let { username, password } = flags;
        if (flags.passwordStdin) {
          if (password !== undefined) throw new Error('--password and --password-stdin are mutually exclusive');
          if (!username) throw new Error('Must provide --username with --password-stdin');
          password = await readStdin();
        } else if (password !== undefined) {
          process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
        }
        if (!username || !password) {
          if (!process.stdin.isTTY) throw new Error('Cannot perform an interactive login from a non TTY device');
          username ||= await ask('Username: ', false);
          password ||= await ask('Password: ', true);
        }
        const r = await login(target, { username, password });
        process.stdout.write(`Login Succeeded (credentials in ${r.authFile})\n`);
        process.exitCode = 0;
      } catch (err) {
        process.exitCode = failPull(err);
      }
    });

  program
    .command('logout')
    .description('forget the credentials stored for a registry')
    .argument('[server]', 'host[:port] of the registry (default: Docker Hub)')
    .action(async (server: string | undefined) => {
      try {
        const r = await logout(server ?? HUB);
        process.stdout.write(r.removed ? `Removing login credentials for ${r.server}\n` : `Not logged in to ${r.server}\n`);
        process.exitCode = 0;
      } catch (err) {
        process.exitCode = failPull(err);
      }
    });
}
