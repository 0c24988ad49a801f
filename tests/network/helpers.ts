/**
 * Networking tests never touch the machine's own network: each scenario runs as a separate node
 * process under `unshare --net --mount --propagation private`, a throwaway namespace that plays "the
 * host"; bridges, veths, nft rules and sysctls die with it. The scenario prints one JSON object of
 * observations on its last stdout line; the ava test asserts on it.
 */
import type { ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { nobodyCannotRun } from '../helpers/nobody.js';
import { needsRoot } from '../helpers/privileged.js';
import { runScenarioFile, type ScenarioResult } from '../helpers/scenario.js';

export { REPO, type ScenarioResult } from '../helpers/scenario.js';

export function runScenario<T>(name: string, env: NodeJS.ProcessEnv = {}): Promise<ScenarioResult<T>> {
  const file = fileURLToPath(new URL(`./scenarios/${name}.ts`, import.meta.url));
  return runScenarioFile<T>(file, ['--net', '--mount'], env);
}

/**
 * The rootless scenarios' common start: root (for the throwaway namespace and setpriv), a CLI that
 * nobody can run, the scenario run and its nsbox lines logged, and its exit code checked. Undefined
 * when the test has already ended (not root, or nobody cannot run the CLI: a failure).
 */
export async function runRootlessScenario<T>(t: ExecutionContext, name: string): Promise<T | undefined> {
  if (!needsRoot(t)) return undefined;
  const why = nobodyCannotRun();
  if (why) {
    t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
    return undefined;
  }
  const { code, facts, stderr } = await runScenario<T>(name);
  t.log(stderr.split('\n').filter((l) => l.startsWith('nsbox ')).join('\n'));
  t.is(code, 0, stderr);
  return facts;
}
