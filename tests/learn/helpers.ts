/**
 * Learn mode's tests run everything inside a throwaway `unshare --net --mount --ipc` "host": S12–S15
 * create bridges, S4 a queue in the host's IPC namespace; both die with it. Each run gets a private
 * state root (NSBOX_ROOT) that the test removes.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runCli, type CliResult } from '../helpers/cli.js';
import { AS_NOBODY, NOBODY } from '../helpers/nobody.js';
import { runScenarioFile, type ScenarioResult } from '../helpers/scenario.js';

export const THROWAWAY_HOST = ['unshare', '--net', '--mount', '--ipc', '--propagation', 'private', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];

export interface StateRoot { dir: string; home: string; remove(): void }

/** A private state root and a home for caches (owned by `uid`), removed by `remove()`. */
export function stateRoot(uid = 0): StateRoot {
  const parent = mkdtempSync(path.join(tmpdir(), 'nsbox-learn-test-'));
  chmodSync(parent, 0o755);
  const [dir, home] = ['state', 'home'].map((d) => path.join(parent, d)) as [string, string];
  for (const d of [dir, home]) {
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, uid, uid);
  }
  return { dir, home, remove: () => rmSync(parent, { recursive: true, force: true }) };
}

/** `nsbox learn …` in a throwaway host namespace, as root or as nobody. */
export function learnCli(args: string[], root: StateRoot, o: { nobody?: boolean } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NSBOX_ROOT: root.dir, XDG_RUNTIME_DIR: '' };
  if (o.nobody) env.HOME = root.home;
  return runCli(['learn', ...args], { prefix: [...THROWAWAY_HOST, ...(o.nobody ? AS_NOBODY : [])], env });
}

export function learnScenario<T>(name: string, env: NodeJS.ProcessEnv = {}): Promise<ScenarioResult<T>> {
  const file = fileURLToPath(new URL(`./scenarios/${name}.ts`, import.meta.url));
  return runScenarioFile<T>(file, ['--net', '--mount', '--ipc'], env);
}

/** One `--check` line: `S4  shown   …`, `S12 FAILED  …`, `S12 not shown here: …`. */
export function checkLines(stdout: string): Map<string, { status: string; text: string }> {
  const out = new Map<string, { status: string; text: string }>();
  for (const l of stdout.split('\n')) {
    const m = /^(S\d+)\s+(shown|FAILED|not shown here:)\s+(.*)$/.exec(l);
    if (m) out.set(m[1]!, { status: m[2]!.replace(':', ''), text: m[3]! });
  }
  return out;
}

/** Scratch directories a learn session of a dead process left in the temp directory. */
export function learnScratch(): string[] {
  return readdirSync(tmpdir()).filter((d) => /^nsbox-learn-\d+\.\d+\.\d+-/.test(d));
}

export { NOBODY };
