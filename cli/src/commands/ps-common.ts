/** Helpers shared by the lifecycle commands (ps, logs, exec, stop, …). */
import type { Command } from 'commander';
import { Runtime } from 'nsbox';

import { reportError } from '../report-error.js';

export interface RootFlags {
  root?: string;
}

export function withRoot(cmd: Command): Command {
  return cmd.option('--root <DIR>', 'state root (default: NSBOX_ROOT, /run/nsbox as root, $XDG_RUNTIME_DIR/nsbox otherwise)');
}

export function runtimeFor(flags: RootFlags): Runtime {
  return new Runtime(flags.root ? { root: flags.root } : {});
}

/** Runs `fn` for each container reference, docker-style: errors are reported, the others carry on. */
export async function eachContainer(refs: string[], fn: (ref: string) => Promise<void>): Promise<number> {
  let code = 0;
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (e) {
      code = reportError(e);
    }
  }
  return code;
}

/** "3 seconds ago", "2 minutes", … as docker prints durations. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return s <= 1 ? 'Less than a second' : `${s} seconds`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
  const h = Math.round(m / 60);
  return h < 48 ? (h === 1 ? 'About an hour' : `${h} hours`) : `${Math.round(h / 24)} days`;
}

/** Left-aligned columns separated by three spaces, like docker's tables. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}
