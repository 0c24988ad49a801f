/**
 * Which OCI runtime(s) the engine tests drive: NSBOX_ENGINE_RUNTIME, a comma-separated list of paths
 * or names on PATH (`runc`, `crun`); default: this repository's release build of nsbox-runtime, so CI
 * tests ours. `NSBOX_ENGINE_RUNTIME=runc,crun` proves the harness with Debian's runtimes.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

import { REPO } from './host.js';

export interface RuntimeUnderTest {
  /** Short name: podman's runtime key in containers.conf, test titles, bench rows. */
  name: string;
  /** Absolute path of the executable (may not exist: then `problem` says so). */
  path: string;
  /** First line of `--version`, or null. */
  version: string | null;
  /** Why it cannot be used, or null. */
  problem: string | null;
}

export const DEFAULT_RUNTIME = path.join(REPO, 'target/release/nsbox-runtime');

function resolve(entry: string): string {
  if (entry.includes('/')) return path.resolve(entry);
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, entry);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return entry;
}

export function describeRuntime(p: string, name = path.basename(p)): RuntimeUnderTest {
  try {
    accessSync(p, constants.X_OK);
  } catch {
    const hint = p === DEFAULT_RUNTIME ? ' (build it: cargo build --release -p nsbox-runtime)' : '';
    return { name, path: p, version: null, problem: `${p} is not an executable${hint}` };
  }
  const r = spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const version = r.status === 0 ? (r.stdout.trim().split('\n')[0] ?? null) : null;
  return { name, path: p, version, problem: null };
}

export function runtimesUnderTest(spec = process.env.NSBOX_ENGINE_RUNTIME): RuntimeUnderTest[] {
  const entries = (spec?.trim() ? spec.split(',') : [DEFAULT_RUNTIME]).map((s) => s.trim()).filter(Boolean);
  const taken = new Set<string>();
  return entries.map((e) => {
    const p = resolve(e);
    let name = path.basename(p).replace(/[^A-Za-z0-9_.-]/g, '_');
    for (let i = 2; taken.has(name); i++) name = `${path.basename(p)}-${i}`;
    taken.add(name);
    return describeRuntime(p, name);
  });
}
