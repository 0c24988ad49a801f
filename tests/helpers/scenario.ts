/**
 * A scenario is a script run as its own node process under `unshare` (namespaces that die with it).
 * It prints one JSON object of observations on its last stdout line; the ava test asserts on it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface ScenarioResult<T> {
  code: number | null;
  facts: T;
  stderr: string;
}

/** Runs `file` (a .ts script) under `unshare UNSHARE_FLAGS --propagation private`. */
export function runScenarioFile<T>(file: string, unshareFlags: string[], env: NodeJS.ProcessEnv = {}): Promise<ScenarioResult<T>> {
  const child = spawn('unshare', [...unshareFlags, '--propagation', 'private', '--', process.execPath, '--import=tsx', file], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      let facts = {} as T;
      try {
        facts = JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
      } catch {
        stderr += `\n(no JSON result; stdout was: ${stdout})`;
      }
      resolve({ code, facts, stderr });
    });
  });
}
