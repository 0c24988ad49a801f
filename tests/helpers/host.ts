/** The host's side of the story: what /proc says about a container process from outside. */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

import { CLI } from './cli.js';

/** `/proc/PID/status` field, e.g. `Uid` → `['65534', '65534', '65534', '65534']`. */
export function statusField(pid: number | 'self', field: string): string[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  if (!line) throw new Error(`/proc/${pid}/status has no ${field}`);
  return line.slice(field.length + 1).trim().split(/\s+/);
}

/** The lines of an id map as numbers: `[[inside, outside, length], …]`. */
export function parseIdMap(text: string): number[][] {
  return text.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).map(Number));
}

/** Host pids whose command line contains `tag` (containers are found by a unique argument). */
export function pidsWithArg(tag: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(tag)) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export function hostMountinfo(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

/**
 * Runs the CLI in a throwaway "host": a private mount namespace with its own tmpfs on /run, so the
 * before/after snapshots of mountinfo and /run see only what this one nsbox run did, not what
 * concurrent tests do to the real host.
 */
export function cliInThrowawayHost(args: string[]): { before: string; after: string; code: number; stderr: string } {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const snapshot = 'cat /proc/self/mountinfo; find /run | sort';
  const script = `mount -t tmpfs nsbox-test-run /run && ${snapshot} > "$0.before" && { ${quoted} 2>"$0.stderr"; echo $? > "$0.code"; }; ${snapshot} > "$0.after"`;
  const base = `/tmp/nsbox-throwaway-${process.pid}-${Math.random().toString(16).slice(2)}`;
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, base], { stdio: 'ignore' });
    const read = (ext: string) => readFileSync(`${base}.${ext}`, 'utf8');
    return { before: read('before'), after: read('after'), code: Number(read('code').trim()), stderr: read('stderr') };
  } finally {
    execFileSync('rm', ['-f', `${base}.before`, `${base}.after`, `${base}.code`, `${base}.stderr`]);
  }
}
