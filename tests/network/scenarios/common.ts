/** Shared by the scenarios, which run inside a throwaway net+mount namespace (see ../helpers.ts). */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * lo up, and a private state root for this scenario, removed when the scenario's process exits
 * (its containers and networks are gone by then; what a failed scenario left is the test's finding,
 * not something to keep in /tmp).
 */
export function prepare(): string {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const root = mkdtempSync(path.join(tmpdir(), 'nsbox-net-'));
  process.env.NSBOX_ROOT = root;
  process.on('exit', () => { try { rmSync(root, { recursive: true, force: true }); } catch { /* reported by the scenario's own checks */ } });
  return root;
}

export function sh(cmd: string): { ok: boolean; out: string } {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 20_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Connects from the host (this namespace) and returns the server's answer, or null. */
export function hostTcp(addr: string, port: number): string | null {
  const r = sh(`timeout 5 socat -T2 - TCP:${addr}:${port},connect-timeout=2 </dev/null`);
  return r.ok ? r.out.trim() : null;
}

/** The real nft (under npx, node_modules/.bin has an unrelated `nft`). */
export const NFT = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].find((p) => existsSync(p)) ?? 'nft';

export function report(facts: unknown): void {
  process.stdout.write(`${JSON.stringify(facts)}\n`);
}

export async function until(f: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (f()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return f();
}

/**
 * The state root on a tmpfs of this namespace, as etc-files has it: the containers' /etc files are
 * bound from under it, and file binds from under /tmp misfire. Call after prepare().
 */
export function tmpfsStateRoot(): string {
  const root = '/mnt';
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', root]);
  process.env.NSBOX_ROOT = root;
  return root;
}

const CLI = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));

/** This checkout's CLI, run to its end; stdout trimmed. */
export function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: (r.stdout ?? '').trim(), stderr: r.stderr ?? '' };
}
