/**
 * Networking tests never touch the machine's own network: each scenario runs as a separate node
 * process under `unshare --net --mount --propagation private`, a throwaway namespace that plays "the
 * host"; bridges, veths, nft rules and sysctls die with it. The scenario prints one JSON object of
 * observations on its last stdout line; the ava test asserts on it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface ScenarioResult<T> {
  code: number | null;
  facts: T;
  stderr: string;
}

export function runScenario<T>(name: string, env: NodeJS.ProcessEnv = {}): Promise<ScenarioResult<T>> {
  const file = fileURLToPath(new URL(`./scenarios/${name}.ts`, import.meta.url));
  const child = spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--', process.execPath, '--import=tsx', file], {
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
      const last = stdout.trim().split('\n').pop() ?? '';
      let facts: T;
      try {
        facts = JSON.parse(last) as T;
      } catch {
        facts = {} as T;
        stderr += `\n(no JSON result; stdout was: ${stdout})`;
      }
      resolve({ code, facts, stderr });
    });
  });
}
