/** Shared pieces of the resource tests: the container's cgroup of a controller, counters. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { ContainerState } from '../../ts/src/index.js';

/** The container's cgroup directory holding `file` (its v1 hierarchy's, or the cgroup2 one). */
export function cgroupWith(s: ContainerState, file: string): string {
  const dir = s.cgroups.find((c) => existsSync(path.join(c, file)));
  if (!dir) throw new Error(`no cgroup of ${s.id} has ${file} (${s.cgroups.join(', ')})`);
  return dir;
}

export function readCg(s: ContainerState, file: string): string {
  return readFileSync(path.join(cgroupWith(s, file), file), 'utf8').trim();
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function eventually(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await delay(25);
  }
  return true;
}

/** Every hierarchy's directory named `name` below the cgroup this process is in. */
export function ownCgroupPaths(name: string): string[] {
  const own = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');
  const out: string[] = [];
  for (const line of own) {
    const [, ctrls, rel] = line.split(':') as [string, string, string];
    for (const m of mounts) {
      const [left, right] = m.split(' - ') as [string, string];
      const [fstype, , opts] = right.split(' ');
      const mountPoint = left.split(' ')[4]!;
      if (left.split(' ')[3] !== '/') continue;
      const match = ctrls === '' ? fstype === 'cgroup2' : fstype === 'cgroup' && ctrls.split(',').every((c) => opts!.split(',').includes(c));
      if (match) out.push(path.join(mountPoint, rel, name));
    }
  }
  return out;
}
