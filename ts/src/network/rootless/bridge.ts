/**
 * Rootless user-defined networks (docs/networking.md, "Rootless user-defined networks"): every
 * operation runs in `nsbox-runtime rootless-net OP CONFIG`, which takes the user's lock, finds (or,
 * for create, starts) the user's network holder, joins its user and network namespaces and runs
 * nsbox-net's ordinary bridge code there. Node itself never enters a user namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { fromWire, type NsboxError } from '../../errors.js';
import type { PortMapping } from '../../network-options.js';
import { runtimePath } from '../../platform.js';
import { checkTun, chooseHelper, type HelperKind } from './helper.js';
import { userRoot } from './state-dir.js';

/** `ROOT/run/netns.pid`, as the holder writes it (crates/nsbox-net/src/rootless/holder.rs). */
export interface HolderInfo {
  holderPid: number;
  holderStart: number;
  nsPid: number;
  nsStart: number;
  helper: HelperKind;
  helperPid: number;
}

/** The names a rootless container's network may take that are helpers, not user-defined networks. */
export const HELPER_NETWORKS = new Set(['pasta', 'slirp4netns', 'nsbox']);

function config(op: string, args: object, root?: string): string {
  const c: Record<string, unknown> = { root: root ?? userRoot(), args };
  if (op === 'create') {
    // A holder may have to be started: its egress helper, checked here so a missing one or an
    // unusable /dev/net/tun is said clearly, before anything exists.
    const h = chooseHelper(undefined);
    checkTun(h.kind);
    c.kind = h.kind;
    c.helper = h.path;
  }
  return JSON.stringify(c);
}

function answer<T>(op: string, out: string, status: number | null, stderr: string): T {
  let a: { ok?: boolean; value?: T; error?: unknown } = {};
  try {
    a = JSON.parse(out.trim().split('\n').pop() ?? '') as typeof a;
  } catch {
    /* below */
  }
  if (a.ok) return a.value as T;
  if (a.error) throw fromWire(a.error);
  throw fromWire({ code: 'ERR_RUNTIME', op: `rootless-net ${op}`, path: runtimePath(), message: `exited with ${status}: ${stderr.trim() || out.trim() || 'no answer'}` });
}

/** One operation, asynchronously (the network API). */
export function rootlessNet<T>(op: string, args: object, root?: string): Promise<T> {
  const cfg = config(op, args, root);
  return new Promise<T>((resolve, reject) => {
    const child = spawn(runtimePath(), ['rootless-net', op, cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', (e) => reject(fromWire({ code: (e as NodeJS.ErrnoException).code ?? 'ERR_RUNTIME', op: `rootless-net ${op}`, path: runtimePath(), message: e.message })));
    child.once('close', (status) => {
      try {
        resolve(answer<T>(op, out, status, err));
      } catch (e) {
        reject(e as NsboxError);
      }
    });
  });
}

/**
 * Starts the watcher of a container on a rootless network (`rootless-net watch`, detached: its
 * own session, outliving this process) and resolves once it watches.
 */
export function rootlessWatch(args: { pid: number; endpoint: string; network: string; ip: string; ports: PortMapping[]; cleanup: string[] }): Promise<void> {
  const cfg = JSON.stringify({ root: userRoot(), args });
  return new Promise<void>((resolve, reject) => {
    const child = spawn(runtimePath(), ['rootless-net', 'watch', cfg], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.once('error', (e) => reject(fromWire({ code: (e as NodeJS.ErrnoException).code ?? 'ERR_RUNTIME', op: 'rootless-net watch', path: runtimePath(), message: e.message })));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!out.includes('\n')) return;
      child.stdout.destroy();
      child.unref();
      try {
        answer<unknown>('watch', out, null, '');
        resolve();
      } catch (e) {
        reject(e as NsboxError);
      }
    });
    child.once('close', (status) => {
      if (!out.includes('\n')) reject(fromWire({ code: 'ERR_RUNTIME', op: 'rootless-net watch', path: runtimePath(), message: `exited with ${status} before it watched` }));
    });
  });
}

/** One operation, synchronously (the start hook's prepare stage is synchronous). */
export function rootlessNetSync<T>(op: string, args: object, root?: string): T {
  const r = spawnSync(runtimePath(), ['rootless-net', op, config(op, args, root)], { encoding: 'utf8' });
  if (r.error) throw fromWire({ code: (r.error as NodeJS.ErrnoException).code ?? 'ERR_RUNTIME', op: `rootless-net ${op}`, path: runtimePath(), message: r.error.message });
  return answer<T>(op, r.stdout ?? '', r.status, r.stderr ?? '');
}

/** Whether the user has a rootless network of that name (its file in the store, see bridge.rs). */
export function rootlessNetworkExists(name: string, root?: string): boolean {
  try {
    readFileSync(path.join(root ?? userRoot(), 'run', 'rnet', 'networks', `${name}.json`));
    return true;
  } catch {
    return false;
  }
}

/** Field 22 of /proc/PID/stat (start time), as nsbox-net's owner check reads it. */
function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return f[0] === 'Z' ? undefined : Number(f[19]);
  } catch {
    return undefined;
  }
}

/** True while the holder that `h` names is alive (its namespaces with it). */
export function holderAlive(h: { holderPid: number; holderStart: number }): boolean {
  return startTime(h.holderPid) === h.holderStart;
}
