/**
 * Containers started from this dashboard with the library's `spawn()`, for as long as the dashboard
 * runs. This is what the real API offers until the lifecycle API (detached containers with a monitor,
 * issue 4) lands; it is real (the runtime, real namespaces), only not detached: quitting the dashboard
 * kills them.
 */
import type { Readable } from 'node:stream';
import type { ContainerBackend } from './backend.js';
import { NotAvailableError, type ContainerSummary, type DashboardEvent, type LogLine, type NewContainerForm } from './api.js';

/** The part of `nsbox`'s spawn() this uses. */
export interface SpawnedLike {
  readonly id: string;
  readonly name: string | undefined;
  readonly pid: number | undefined;
  readonly started: Promise<number>;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  wait(): Promise<{ exitCode: number; signal: string | null }>;
  kill(signal?: NodeJS.Signals | number): boolean;
  readonly spec?: unknown;
}
export type SpawnFn = (o: Record<string, unknown>) => SpawnedLike;

interface Entry { c: SpawnedLike; summary: ContainerSummary; logs: LogLine[]; form: NewContainerForm; done: Promise<void> }

export class SessionRuntime implements ContainerBackend {
  readonly detached = false;
  private readonly entries = new Map<string, Entry>();
  private readonly waiters = new Set<() => void>();
  private seq = 0;
  constructor(private readonly spawn: SpawnFn) {}

  private now(): ContainerSummary[] { return [...this.entries.values()].map((e) => e.summary); }
  async list(): Promise<ContainerSummary[]> { return this.now(); }
  async get(idOrName: string): Promise<ContainerSummary> { return this.find(idOrName).summary; }

  private find(idOrName: string): Entry {
    const e = this.entries.get(idOrName) ?? [...this.entries.values()].find((x) => x.summary.name === idOrName || x.summary.id.startsWith(idOrName));
    if (!e) throw Object.assign(new Error(`no such container: ${idOrName}`), { code: 'ENOCONTAINER' });
    return e;
  }

  async create(form: NewContainerForm): Promise<ContainerSummary> {
    const name = form.name ?? `tui-${process.pid}-${++this.seq}`;
    if (this.now().some((c) => c.name === name)) throw Object.assign(new Error(`name already in use: ${name}`), { code: 'ENAMEINUSE' });
    const opts: Record<string, unknown> = { command: form.command, name, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', newSession: true };
    if (form.rootfs) opts.rootfs = form.rootfs;
    if (form.image) opts.image = form.image;
    if (form.hostname) opts.hostname = form.hostname;
    if (form.namespaces) opts.namespaces = form.namespaces;
    if (form.network) opts.network = form.network;
    const c = this.spawn(opts);
    const e: Entry = { c, form, logs: [], done: Promise.resolve(), summary: { id: c.id, name, status: 'created', pid: 0 } };
    this.entries.set(c.id, e);
    this.pipe(e, c.stdout, 'stdout');
    this.pipe(e, c.stderr, 'stderr');
    e.done = c.wait().then(
      (s) => { e.summary = { ...e.summary, status: 'exited', exitCode: s.exitCode, pid: 0 }; },
      (err: unknown) => {
        e.summary = { ...e.summary, status: 'exited', exitCode: (err as { exitCode?: number }).exitCode ?? 125, pid: 0 };
        this.log(e, 'stderr', `nsbox: ${err instanceof Error ? err.message : String(err)}`);
      },
    ).finally(() => this.wake());
    const pid = await c.started.catch(async (err: unknown) => { await e.done; throw err; });
    e.summary = { ...e.summary, status: 'running', pid, startedAt: new Date().toISOString() };
    return e.summary;
  }

  private log(e: Entry, stream: LogLine['stream'], line: string): void {
    e.logs.push({ stream, time: new Date().toISOString(), line });
    if (e.logs.length > 10_000) e.logs.splice(0, e.logs.length - 10_000);
    this.wake();
  }

  private pipe(e: Entry, s: Readable | null, stream: LogLine['stream']): void {
    if (!s) return;
    let rest = '';
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) this.log(e, stream, p);
    });
    s.on('end', () => { if (rest) this.log(e, stream, rest); });
    s.on('error', () => {});
  }

  private wake(): void { for (const w of [...this.waiters]) w(); }

  async *logs(id: string, follow: boolean, signal?: AbortSignal): AsyncIterable<LogLine> {
    const e = this.find(id);
    let i = 0;
    for (;;) {
      while (i < e.logs.length) yield e.logs[i++]!;
      if (!follow || signal?.aborted || e.summary.status === 'exited') return;
      await new Promise<void>((resolve) => {
        const done = (): void => { this.waiters.delete(done); signal?.removeEventListener('abort', done); resolve(); };
        this.waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  async stop(id: string, timeoutMs = 10_000): Promise<void> {
    const e = this.find(id);
    if (e.summary.status !== 'running') return;
    e.c.kill('SIGTERM');
    const timer = setTimeout(() => e.c.kill('SIGKILL'), timeoutMs);
    await e.done;
    clearTimeout(timer);
  }

  /** Foreground sessions have no state root for a freeze to be recorded in. */
  async pause(): Promise<void> { throw new NotAvailableError('pause', 'the lifecycle API (Runtime)'); }
  async unpause(): Promise<void> { throw new NotAvailableError('unpause', 'the lifecycle API (Runtime)'); }

  async kill(id: string, signal: string): Promise<void> {
    const e = this.find(id);
    if (e.summary.status !== 'running') throw Object.assign(new Error(`container ${e.summary.name} is not running`), { code: 'ENOTRUNNING' });
    e.c.kill(signal as NodeJS.Signals);
  }

  async remove(id: string, force: boolean): Promise<void> {
    const e = this.find(id);
    if (e.summary.status === 'running') {
      if (!force) throw Object.assign(new Error(`container ${e.summary.name} is running: stop it first or force`), { code: 'ERUNNING' });
      e.c.kill('SIGKILL');
    }
    await e.done;
    this.entries.delete(e.summary.id);
    this.wake();
  }

  async inspect(id: string): Promise<unknown> {
    const e = this.find(id);
    return { Id: e.summary.id, Name: e.summary.name, State: e.summary, Config: e.form, Spec: e.c.spec ?? null,
      Note: 'started by this dashboard with spawn(); detached containers need the lifecycle API' };
  }

  async exec(id: string): Promise<number> {
    this.find(id);
    throw new NotAvailableError('exec', 'the lifecycle API (Container.exec, issue 4)');
  }

  async *events(signal?: AbortSignal): AsyncIterable<DashboardEvent> {
    let last = JSON.stringify(this.now());
    while (!signal?.aborted) {
      await new Promise<void>((r) => { const done = (): void => { this.waiters.delete(done); r(); }; this.waiters.add(done); signal?.addEventListener('abort', done, { once: true }); });
      const now = JSON.stringify(this.now());
      if (now !== last) { last = now; yield { type: 'start', time: new Date().toISOString() }; }
    }
  }

  /** Kills every container still running; the dashboard calls this when it quits. */
  async close(): Promise<void> {
    for (const e of this.entries.values()) if (e.summary.status === 'running' || e.summary.status === 'created') e.c.kill('SIGKILL');
    await Promise.all([...this.entries.values()].map((e) => e.done));
  }
}
