/** Shared pieces of the lifecycle tests: a private state root, a busybox rootfs, leak checks. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Runtime, type ContainerState } from '../../ts/src/index.js';
import { makeBusyboxRootfs, type Rootfs } from '../helpers/rootfs.js';
import { runScenarioFile, type ScenarioResult } from '../helpers/scenario.js';

export const RUNTIME = path.resolve(new URL('../../target/release/nsbox-runtime', import.meta.url).pathname);

export interface Fixture {
  root: string;
  rt: Runtime;
  rootfs: Rootfs;
  /** Force-removes whatever is left and deletes the root; returns what had to be cleaned. */
  dispose(): Promise<void>;
}

export function fixture(): Fixture {
  const root = mkdtempSync(path.join(tmpdir(), 'nsbox-lc-root-'));
  const rootfs = makeBusyboxRootfs();
  const rt = new Runtime({ root });
  return {
    root, rt, rootfs,
    async dispose() {
      for (const s of rt.list({ all: true })) await rt.get(s.id).remove({ force: true }).catch(() => {});
      rmSync(root, { recursive: true, force: true });
      rootfs.remove();
    },
  };
}

/** Everything a container can leave behind: its directory, name file, cgroups, processes. */
export function leftovers(root: string, states: ContainerState[]): string[] {
  const out: string[] = [];
  const dirs = readdirSync(root).filter((n) => n !== 'names' && n !== 'events.jsonl' && n !== '.lock');
  if (dirs.length) out.push(`container dirs: ${dirs.join(', ')}`);
  const names = existsSync(path.join(root, 'names')) ? readdirSync(path.join(root, 'names')) : [];
  if (names.length) out.push(`names: ${names.join(', ')}`);
  for (const s of states) {
    for (const cg of s.cgroups) if (existsSync(cg)) out.push(`cgroup ${cg}`);
    // A zombie holds nothing but its pid; whether one remains is zombies()'s question.
    for (const pid of [s.pid, s.monitorPid]) if (pid && statState(pid) !== null && statState(pid) !== 'Z') out.push(`process ${pid} (${statState(pid)})`);
  }
  return out;
}

function statState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * Does PID 1 reap orphans? A real init does; some sandboxes' PID 1 (e.g. a job agent) does not, and
 * then every process that outlives its parent (any detached monitor, crun's and runc's containers
 * alike) stays a zombie of PID 1 after it exits: nothing a runtime can reap.
 */
export const INIT_REAPS = ['systemd', 'init', 'tini', 'docker-init', 'dumb-init', 'catatonit', 'runit', 's6-svscan']
  .includes(readFileSync('/proc/1/comm', 'utf8').trim());

/**
 * Zombies of ours (sleep, sh, busybox, nsbox-runtime) that someone alive could still reap but did not.
 * Only those still there 300 ms later count: another test file running alongside has zombies for the
 * moment between a child's exit and its parent's wait. Children of a Node process (another ava
 * worker's own spawns) are not ours to judge: Node reaps them when its event loop next runs, which
 * a long synchronous call in that worker can put off for seconds.
 */
export function zombies(): string[] {
  const read = () => {
    const rows = execFileSync('ps', ['-eo', 'pid,ppid,stat,comm'], { encoding: 'utf8' }).split('\n').map((l) => l.trim().split(/\s+/));
    const comm = new Map(rows.map(([pid, , , c]) => [pid, c]));
    return rows
      .filter(([, ppid, stat, c]) => stat?.startsWith('Z') && /^(sleep|sh|busybox|nsbox-runtime)$/.test(c ?? '') && (INIT_REAPS || ppid !== '1') && comm.get(ppid ?? '') !== 'node')
      .map((f) => f.join(' '));
  };
  const first = read();
  if (!first.length) return first;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  const again = new Set(read());
  return first.filter((z) => again.has(z));
}

export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs `fn` over `items`, `limit` at a time (two cores: keep the machine responsive). */
export async function batched<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }));
  return out;
}

/**
 * Runs tests/lifecycle/scenarios/NAME.ts as its own node process under `unshare --mount
 * --propagation private` (a mount namespace of its own: its tmpfs mounts die with it). The
 * scenario prints one JSON object of observations on its last stdout line.
 */
export function runScenario<T>(name: string): Promise<ScenarioResult<T>> {
  return runScenarioFile<T>(new URL(`./scenarios/${name}.ts`, import.meta.url).pathname, ['--mount']);
}
