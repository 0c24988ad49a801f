/**
 * Networking tests never touch the machine's own network: each scenario runs as a separate node
 * process under `unshare --net --mount --propagation private`, a throwaway namespace that plays "the
 * host"; bridges, veths, nft rules and sysctls die with it. The scenario prints one JSON object of
 * observations on its last stdout line; the ava test asserts on it.
 */
import { fileURLToPath } from 'node:url';
import { runScenarioFile, type ScenarioResult } from '../helpers/scenario.js';

export { REPO, type ScenarioResult } from '../helpers/scenario.js';

export function runScenario<T>(name: string, env: NodeJS.ProcessEnv = {}): Promise<ScenarioResult<T>> {
  const file = fileURLToPath(new URL(`./scenarios/${name}.ts`, import.meta.url));
  return runScenarioFile<T>(file, ['--net', '--mount'], env);
}
