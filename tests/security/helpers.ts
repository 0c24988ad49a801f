/**
 * Shared pieces of the attack tests (issue #9): a private state root, host directories the container
 * can see (outside /tmp and /run, which the host view replaces with its own tmpfs), detached
 * containers that are always removed, and probe scripts written to a file the container reads.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { runCli, type CliResult } from '../helpers/cli.js';

/** The host's own python (the pyenv shim on PATH needs $HOME things the container may not have). */
export const PY = '/usr/bin/python3';

/** A fresh state root for this test's containers, removed (with every container in it) at teardown. */
export class Box {
  readonly root: string;
  private names: string[] = [];
  private pending: Array<Promise<unknown>> = [];

  constructor(t: ExecutionContext, readonly env: NodeJS.ProcessEnv = {}) {
    this.root = mkdtempSync(path.join(tmpdir(), 'nsbox-sec-root-'));
    t.teardown(async () => {
      for (const n of this.names.reverse()) await this.cli(['rm', '-f', n]).catch(() => undefined);
      // CLIs still waiting on a container that is gone now end by themselves (bounded wait).
      await Promise.race([Promise.all(this.pending), new Promise((r) => setTimeout(r, 10_000))]);
      rmSync(this.root, { recursive: true, force: true });
    });
  }

  /** The CLI with NSBOX_ROOT set to this box's root (and the box's extra environment). */
  cli(args: string[], opts: { prefix?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    return runCli(args, { prefix: opts.prefix, env: { ...process.env, ...this.env, ...opts.env, NSBOX_ROOT: this.root } });
  }

  /** `run -d --name NAME FLAGS -- COMMAND`; removed at teardown. Fails the test when it does not start. */
  async detached(name: string, flags: string[], command: string[]): Promise<void> {
    this.names.push(name);
    const r = await this.cli(['run', '-d', '--name', name, ...flags, '--', ...command]);
    if (r.code !== 0) throw new Error(`run -d ${name} failed (${r.code}): ${r.stderr}`);
  }

  /**
   * As `detached`, without waiting for `run -d` to return: it waits until `exec NAME true` works.
   * (Today `run -d --init` returns only when the container ends: its PID 1 keeps the control socket.)
   */
  async detachedNoWait(name: string, flags: string[], command: string[], ms = 20_000): Promise<void> {
    this.names.push(name);
    const started = this.cli(['run', '-d', '--name', name, ...flags, '--', ...command]);
    let ended: CliResult | null = null;
    void started.then((r) => (ended = r));
    this.pending.push(started);
    const end = Date.now() + ms;
    for (;;) {
      const r = await this.cli(['exec', name, 'true']);
      if (r.code === 0) return;
      const e = ended as CliResult | null;
      if (e && e.code !== 0) throw new Error(`run -d ${name} failed (${e.code}): ${e.stderr}`);
      if (Date.now() > end) throw new Error(`${name} did not start within ${ms} ms: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /** The name is removed at teardown even when the test started it itself. */
  track(name: string): void {
    this.names.push(name);
  }
}

/**
 * A host directory outside /tmp and /run (a container with the host view sees it read-only at the
 * same path), mode 0755 so a container root mapped to another uid can traverse it; removed at teardown.
 */
export function hostDir(t: ExecutionContext, prefix = 'nsbox-sec-'): string {
  const dir = mkdtempSync(path.join('/var/tmp', prefix));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a probe script (mode 0644) into `dir` and returns its path. */
export function probe(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}

/** Single-quoted for sh. */
export const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The whole story of a CLI call, for assertion messages. */
export const told = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** Python helper text: `err(e)` → 'EPERM' etc.; `try_(label, fn)` prints `label=ok|ERRNO`. */
export const PY_PRELUDE = `
import errno, os, sys
def err(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) else type(e).__name__
def say(k, v):
    print(f"{k}={v}", flush=True)
def try_(label, fn):
    try:
        r = fn()
        say(label, "ok")
        return r
    except OSError as e:
        say(label, err(e))
        return None
`;
