/** Shared by learn's scenarios (run inside `unshare --net --mount --ipc`, see ../helpers.ts). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));

/** lo up, and a private state root (the scenario's namespace dies with it; the directory is removed by the caller). */
export function prepare(): string {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const root = mkdtempSync(path.join(tmpdir(), 'nsbox-learn-sc-'));
  process.env.NSBOX_ROOT = root;
  return root;
}

/** Links of this (throwaway host) network namespace other than lo. */
export function links(): string[] {
  return execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(':')[1]!.trim()).filter((n) => n !== 'lo');
}

/** Message queues in this IPC namespace. */
export function queues(): number {
  return readFileSync('/proc/sysvipc/msg', 'utf8').trim().split('\n').length - 1;
}

/** Processes whose command line names `text` (other than this one). */
export function processesNaming(text: string): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(text)) out.push(`${p} ${cmd}`);
    } catch { /* gone */ }
  }
  return out;
}

export async function until(f: () => boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (f()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return f();
}

export function report(facts: unknown): void {
  process.stdout.write(`${JSON.stringify(facts)}\n`);
}
