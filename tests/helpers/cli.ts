/** Runs the built CLI (`node cli/dist/main.js`) as a user would. */
import { spawn, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `prefix` runs the CLI under another program, e.g. `['setpriv', '--reuid=65534', …]`. */
export function cliArgv(args: string[], prefix: string[] = []): [string, string[]] {
  const argv = [...prefix, process.execPath, CLI, ...args];
  return [argv[0]!, argv.slice(1)];
}

export function runCli(args: string[], opts: { prefix?: string[]; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const [file, argv] = cliArgv(args, opts.prefix);
  const spawnOpts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: REPO };
  const child = spawn(file, argv, spawnOpts);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
