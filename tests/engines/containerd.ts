/**
 * Debian's containerd 1.6 started by the test inside an EngineHost, with a private config.toml: root,
 * state, gRPC/ttrpc sockets and the opt dir under the temp dir, the CRI plugin (and the snapshotters
 * this machine cannot use) disabled. The runtime under test is the runc v2 shim's runc binary: with CRI
 * disabled no runtime options come from config.toml, so each `ctr run` passes them itself
 * (`--runc-binary` becomes the shim's `BinaryName` option, `--runc-root` its runc `--root`, under the
 * temp dir); `--cgroup` puts the container below the test's own cgroup; `SystemdCgroup` stays false.
 * The shim's own sockets go to /run/containerd/s (fixed in 1.6), which is the host's private tmpfs.
 * stop() deletes what is left, stops containerd by PID (SIGTERM, then SIGKILL), and the host's
 * close() kills any shim still in the namespace by PID.
 */
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { EngineHost, subdir, traceLines, traceWrapper, type CloseReport, type CmdResult } from './host.js';
import type { RuntimeUnderTest } from './runtimes.js';

const q = (s: string) => JSON.stringify(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Task {
  id: string;
  pid: number;
  status: string;
}

export class Containerd {
  readonly host: EngineHost;
  readonly address: string;
  readonly pid: number;
  /** From spawning containerd to `ctr version` answering. */
  readonly bootMs: number;
  readonly log: string;
  readonly runcRoot: string;
  traced = false;

  private constructor(host: EngineHost, o: { address: string; pid: number; bootMs: number; log: string; runcRoot: string }) {
    this.host = host;
    this.address = o.address;
    this.pid = o.pid;
    this.bootMs = o.bootMs;
    this.log = o.log;
    this.runcRoot = o.runcRoot;
  }

  static async start(host: EngineHost): Promise<Containerd> {
    const base = subdir(host, 'containerd');
    const address = path.join(base, 'containerd.sock');
    const runcRoot = subdir(host, 'containerd', 'runc-root');
    const config = [
      'version = 2',
      `root = ${q(subdir(host, 'containerd', 'root'))}`,
      `state = ${q(subdir(host, 'containerd', 'state'))}`,
      // CRI is Kubernetes' door and would want CNI; the rest cannot work here or is not wanted.
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '',
      '[grpc]',
      `  address = ${q(address)}`,
      '[ttrpc]',
      `  address = ${q(`${address}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '  level = "info"',
      '[metrics]',
      '  address = ""',
      '',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${q(subdir(host, 'containerd', 'opt'))}`,
      '',
    ].join('\n');
    const configPath = path.join(base, 'config.toml');
    writeFileSync(configPath, config);
    const log = path.join(base, 'containerd.log');
    const t0 = performance.now();
    const fd = openSync(log, 'a');
    const child = host.spawn(['containerd', '--config', configPath], { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    child.unref();
    if (!child.pid) throw new Error('containerd: spawn failed');
    let exited: string | null = null;
    child.on('exit', (code, sig) => (exited = `exited ${code ?? sig}`));
    const c = new Containerd(host, { address, pid: child.pid, bootMs: 0, log, runcRoot });
    for (;;) {
      if (exited) throw new Error(`containerd ${exited} before answering: ${readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n')}`);
      const v = c.ctr(['version'], { timeoutMs: 5000 });
      if (v.code === 0) break;
      if (performance.now() - t0 > 30_000) throw new Error(`containerd did not answer on ${address} within 30 s: ${v.stderr.trim()}`);
      await sleep(25);
    }
    return new Containerd(host, { address, pid: child.pid, bootMs: performance.now() - t0, log, runcRoot });
  }

  /** `ctr --address SOCK ARGS…` inside the host. */
  ctr(args: string[], o: { input?: string; timeoutMs?: number } = {}): CmdResult {
    return this.host.run(['ctr', '--address', this.address, ...args], o);
  }

  tty(args: string[], o: { input?: string; timeoutMs?: number } = {}): CmdResult {
    return this.host.tty(['ctr', '--address', this.address, ...args], o);
  }

  /** The flags each `ctr run` of the tests adds: the runtime under test, its private root, our cgroup. */
  runFlags(runtime: RuntimeUnderTest, id: string): string[] {
    const binary = this.traced ? traceWrapper(this.host, runtime.name, runtime.path) : runtime.path;
    return ['--runtime', 'io.containerd.runc.v2', '--runc-binary', binary, '--runc-root', this.runcRoot, '--cgroup', `${this.host.cgroupParent}/${id}`];
  }

  /** The runtime calls the shim made, when traced (NSBOX_ENGINE_TRACE=1 or start(host, { trace })). */
  trace(runtime: RuntimeUnderTest): string[] {
    return traceLines(this.host, runtime.name);
  }

  importImage(archive: string): CmdResult {
    return this.ctr(['images', 'import', archive]);
  }

  tasks(): Task[] {
    const r = this.ctr(['tasks', 'ls']);
    return r.stdout
      .trim()
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => {
        const [id = '', pid = '0', status = ''] = l.trim().split(/\s+/);
        return { id, pid: Number(pid), status };
      });
  }

  containers(): string[] {
    return this.ctr(['containers', 'ls', '-q']).stdout.trim().split('\n').filter(Boolean);
  }

  /** Kills and deletes every task and container, stops containerd by PID, closes the host. */
  async stop(): Promise<CloseReport & { leftoverTasks: string[]; leftoverContainers: string[]; containerdExit: string }> {
    const leftoverTasks: string[] = [];
    const leftoverContainers: string[] = [];
    let containerdExit = 'not running';
    if (alive(this.pid)) {
      for (const t of this.tasks()) {
        leftoverTasks.push(`${t.id} ${t.status}`);
        this.ctr(['tasks', 'kill', '--signal', 'SIGKILL', t.id]);
        this.ctr(['tasks', 'delete', '--force', t.id]);
      }
      for (const id of this.containers()) {
        leftoverContainers.push(id);
        this.ctr(['containers', 'delete', id]);
      }
      process.kill(this.pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (alive(this.pid) && Date.now() < deadline) await sleep(25);
      if (alive(this.pid)) {
        process.kill(this.pid, 'SIGKILL');
        containerdExit = 'SIGKILL after 10 s';
      } else containerdExit = 'SIGTERM';
    }
    // shims exit on their own once their tasks are deleted and containerd is gone: let them.
    for (const end = Date.now() + 5000; this.host.members().length && Date.now() < end; ) await sleep(50);
    const report = await this.host.close();
    return { ...report, leftoverTasks, leftoverContainers, containerdExit };
  }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A host with containerd in it and the image imported. */
export async function startContainerd(ociArchive: string, o: { trace?: boolean } = {}): Promise<{ containerd: Containerd; importMs: number }> {
  const host = await EngineHost.start('containerd');
  let containerd: Containerd | undefined;
  try {
    containerd = await Containerd.start(host);
    containerd.traced = !!o.trace;
    const imp = containerd.importImage(ociArchive);
    if (imp.code !== 0) throw new Error(`ctr images import ${ociArchive} failed (${imp.code}): ${imp.stderr.trim()}`);
    return { containerd, importMs: imp.ms };
  } catch (e) {
    if (containerd) await containerd.stop();
    else await host.close();
    throw e;
  }
}
