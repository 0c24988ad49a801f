/**
 * A step's lab: the detached containers, networks and scratch directories one step starts, and the
 * StepSession handed to the viewer. Detached containers (the lifecycle Runtime) because a viewer
 * execs into them (`e`); each is named `learn-<pid>.<starttime>-…` after the process that owns it, so
 * the next start removes what a killed session left (`sweepStale`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { AbortError, TeardownError } from '../errors.js';
import { Runtime } from '../lifecycle/runtime.js';
import type { RuntimeContainer } from '../lifecycle/container.js';
import type { DetachedRunOptions } from '../lifecycle/launch.js';
import { processStartTime } from '../lifecycle/state.js';
import { createNetwork, listNetworks, removeNetwork } from '../network/api.js';
import type { Network } from '../network/types.js';
import type { ClaimId, Evidence, LearnOptions, StepSession, Text } from './types.js';

/**
 * Every name a learn session gives: `learn-<pid>.<start time>.<pid namespace>-<step>-<label>-<random>`.
 * A pid means something only in its own pid namespace, so a session judges only owners of its own.
 */
const OWNED = /^learn-(\d+)\.(\d+)\.(\d+)-/;

const isRootUser = () => process.getuid?.() === 0;

function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

/** Scratch directories name their state root too: a sweep removes only those of its own root. */
function rootKey(root: string): string {
  return createHash('sha256').update(root).digest('hex').slice(0, 8);
}

function ownerTag(): string {
  return `learn-${process.pid}.${processStartTime(process.pid) ?? 0}.${pidNamespace()}`;
}

/** True unless the name is a learn session's of this pid namespace whose process (pid and start time) is gone. */
function ownerAlive(name: string): boolean {
  const m = OWNED.exec(name);
  if (!m || m[3] !== pidNamespace()) return true; // not ours to judge
  return processStartTime(Number(m[1])) === Number(m[2]);
}

/**
 * Removes the containers and networks (root's, or the user's rootless ones) of learn sessions whose
 * process is gone (SIGKILLed mid-step).
 * Containers are stopped with SIGTERM first so a step's own cleanup traps run (S4's host queue).
 */
export async function sweepStale(runtime = new Runtime()): Promise<unknown[]> {
  const errors: unknown[] = [];
  let states: ReturnType<Runtime['list']> = [];
  try {
    states = runtime.list({ all: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') errors.push(e);
  }
  // In parallel: each stop may wait for a shell's trap (up to a second).
  await Promise.all(states.filter((s) => OWNED.test(s.name) && !ownerAlive(s.name)).map(async (s) => {
    try {
      const c = runtime.get(s.id);
      if (s.status === 'running') await c.stop({ timeout: 2 }).catch(() => undefined);
      await c.remove({ force: true });
    } catch (e) {
      errors.push(e);
    }
  }));
  // Scratch directories (S7's files): `nsbox-learn-<pid>.<start>.<pidns>-r<root key>-XXXXXX` in the temp directory.
  let entries: string[] = [];
  try {
    entries = readdirSync(os.tmpdir());
  } catch (e) {
    errors.push(e);
  }
  for (const d of entries) {
    const m = /^nsbox-(learn-\d+\.\d+\.\d+-)r([0-9a-f]{8})-/.exec(d);
    if (!m || m[2] !== rootKey(runtime.root) || ownerAlive(m[1]!)) continue;
    const full = path.join(os.tmpdir(), d);
    try {
      if (isRootUser() || statSync(full).uid === process.getuid?.()) rmSync(full, { recursive: true, force: true });
    } catch (e) {
      errors.push(e);
    }
  }
  // Root's networks, or an ordinary user's rootless ones (in the holder's namespace; removing the
  // last one ends the holder, and `ls` starts none).
  try {
    for (const n of await listNetworks()) {
      if (OWNED.test(n.name) && !ownerAlive(n.name)) await removeNetwork(n.name).catch((e: unknown) => errors.push(e));
    }
  } catch (e) {
    errors.push(e);
  }
  return errors;
}

export interface ExecResult { stdout: string; stderr: string; exitCode: number }

/** Runs a command in a container and collects its output (the exec API, stdin closed). */
export async function execIn(c: RuntimeContainer, command: string[]): Promise<ExecResult> {
  const p = c.exec(command, { stdin: 'ignore' });
  const read = (s: NodeJS.ReadableStream | null) => new Promise<string>((resolve) => {
    let text = '';
    if (!s) return resolve('');
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', () => resolve(text));
  });
  const [stdout, stderr, status] = await Promise.all([read(p.stdout), read(p.stderr), p.wait()]);
  return { stdout, stderr, exitCode: status.exitCode };
}

export class Lab {
  readonly runtime = new Runtime();
  readonly containers: { c: RuntimeContainer; label: string }[] = [];
  private readonly networks: string[] = [];
  private readonly dirs: string[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];
  private readonly prefix: string;

  constructor(readonly step: ClaimId, private readonly signal?: AbortSignal) {
    this.prefix = `${ownerTag()}-${step.toLowerCase()}`;
  }

  check(): void {
    if (this.signal?.aborted) throw new AbortError(this.signal.reason);
  }

  private unique(label: string): string {
    return `${this.prefix}-${label}-${randomBytes(3).toString('hex')}`;
  }

  /**
   * Starts a detached container (removed by close), labelled for the viewer. It dies with this
   * process (`dieWith`) even when that is SIGKILLed; the next session's sweep removes the rest.
   * `outlive`: only for a container whose SIGTERM trap is the one way to undo what it made on the
   * host (S4's queue): killed with SIGKILL its trap could not run, so it waits for the sweep.
   */
  async container(label: string, options: DetachedRunOptions, { outlive = false } = {}): Promise<RuntimeContainer> {
    this.check();
    const c = await this.runtime.run({ ...options, name: this.unique(label), ...(outlive ? {} : { dieWith: process.pid }) });
    this.containers.push({ c, label });
    this.check();
    return c;
  }

  async network(label: string): Promise<Network> {
    this.check();
    const name = this.unique(label);
    const n = await createNetwork({ name });
    this.networks.push(name);
    this.check();
    return n;
  }

  /** A scratch directory others may search (mapped users stat files in it), removed by close. */
  dir(): string {
    const d = mkdtempSync(path.join(os.tmpdir(), `nsbox-${ownerTag()}-r${rootKey(this.runtime.root)}-`));
    chmodSync(d, 0o755);
    this.dirs.push(d);
    return d;
  }

  onClose(f: () => Promise<void>): void {
    this.cleanups.push(f);
  }

  async exec(c: RuntimeContainer, command: string[]): Promise<ExecResult> {
    this.check();
    const r = await execIn(c, command);
    this.check();
    return r;
  }

  /** Removes everything, in reverse order; collects every failure and throws them all at the end. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const f of this.cleanups.splice(0).reverse()) await f().catch((e: unknown) => errors.push(e));
    for (const { c } of this.containers.splice(0).reverse()) await c.remove({ force: true }).catch((e: unknown) => errors.push(e));
    for (const n of this.networks.splice(0).reverse()) await removeNetwork(n).catch((e: unknown) => errors.push(e));
    for (const d of this.dirs.splice(0)) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw new TeardownError(errors);
  }

  session(shown: boolean, detail: Text, evidence: Evidence[]): StepSession {
    const containers = this.containers.map(({ c, label }) => ({ id: c.id, label, pid: c.pid ?? 0 }));
    const byId = new Map(this.containers.map(({ c }) => [c.id, c]));
    const first = this.containers[0]?.c;
    return {
      step: this.step,
      verdict: { shown, detail },
      evidence,
      containers,
      exec: async (command, containerId) => {
        const c = containerId === undefined ? first : byId.get(containerId);
        if (!c) throw new Error(`learn ${this.step}: no container ${containerId ?? ''} in this step`);
        return execIn(c, command);
      },
      close: () => this.close(),
    };
  }
}

/**
 * Runs a step's body in a fresh lab: on failure or abort everything started is removed before the
 * error (an AbortError after an abort) reaches the caller. The first run in a process sweeps what
 * killed sessions left.
 */
let swept: Promise<unknown> | undefined;
export async function runInLab(step: ClaimId, o: LearnOptions, body: (lab: Lab) => Promise<StepSession>): Promise<StepSession> {
  swept ??= sweepStale();
  await swept;
  const lab = new Lab(step, o.signal);
  try {
    lab.check();
    return await body(lab);
  } catch (e) {
    // The step's own error is what the caller needs; a cleanup failure on top of it is left to the
    // next start's sweep (the names still carry this process, which will be gone by then).
    await lab.close().catch(() => undefined);
    if (o.signal?.aborted) throw new AbortError(o.signal.reason);
    throw e;
  }
}
