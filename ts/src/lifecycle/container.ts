/** A container under a state root, addressed by id: works from any process, whoever started it. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ExitStatus } from '../container.js';
import type { Teardown } from '../hooks.js';
import { nativeBuildResources } from '../native.js';
import { validateResourceOptions, type ResourceOptions } from '../resource-options.js';
import { runtimeCommandOk } from './driver.js';
import { releaseEndpoints, unreleasedEndpoints } from './endpoints.js';
import { releaseRootless } from '../network/rootless/release.js';
import { startExec, type ExecOptions, type ExecProcess } from './exec.js';
import { readLog, type LogEntry, type LogOptions } from './logs.js';
import { inspectNetworkHelper, type NetworkHelperDetail } from './network-helper.js';
import { readSecurityProfile, type SecurityProfile } from './security.js';
import { readState, type ContainerState } from './state.js';
import { readStats, sample, streamStats, type StatsOptions, type StatsSample } from './stats.js';

export interface StopOptions {
  /** Seconds between the stop signal and SIGKILL (default 10, docker's). */
  timeout?: number;
  /** Default SIGTERM. */
  signal?: NodeJS.Signals | string;
}

export interface ContainerProcess {
  /** pid on the host. */
  pid: number;
  /** pid inside the container's pid namespace (the last NSpid), or null. */
  nsPid: number | null;
  ppid: number;
  uid: number;
  command: string;
}

export class RuntimeContainer implements AsyncDisposable {
  /** Network (start hook) teardowns, when this process started the container. */
  teardowns: Teardown[] = [];

  constructor(readonly root: string, readonly id: string, readonly name: string, private lastPid: number | null = null) {}

  /** Host pid of the container's first process (null once it has ended). */
  get pid(): number | null {
    return this.lastPid;
  }

  /** The state as it is now (status computed honestly). */
  inspect(): ContainerState {
    const s = readState(this.root, this.id);
    this.lastPid = s.status === 'running' || s.status === 'paused' || s.status === 'created' ? s.pid : null;
    return s;
  }

  /** Capabilities, seccomp, no_new_privs, device rules and masks: asked for, and live from /proc. */
  security(): SecurityProfile | null {
    const s = this.inspect();
    return readSecurityProfile(this.root, this.id, s.status === 'running' || s.status === 'paused' ? s.pid : null);
  }

  /**
   * A rootless container's user-mode network (pasta, slirp4netns): the helper, the container's
   * interfaces read from its netns, published ports, host loopback, ICMP; null without a helper.
   */
  networkHelper(): Promise<NetworkHelperDetail | null> {
    return inspectNetworkHelper(this.inspect());
  }

  /** Resolves when the container has ended: its exit code (and signal), as the monitor recorded. */
  async wait(o: { signal?: AbortSignal; interval?: number } = {}): Promise<ExitStatus> {
    for (;;) {
      const s = this.inspect();
      if (s.status === 'exited') return { exitCode: s.exitCode ?? 255, signal: s.exitSignal };
      if (s.status === 'dead') return { exitCode: 255, signal: null };
      await sleep(o.interval ?? 20, undefined, { signal: o.signal });
    }
  }

  /**
   * Starts a `created` container's command (OCI `start`); resolves once it was exec'd. Rejects
   * with ContainerStateError when the container is not `created`, and with the exec error
   * (CommandNotFoundError, …) when its command cannot run — the container has then exited.
   */
  async start(): Promise<void> {
    await runtimeCommandOk(this.root, 'start', ['start', this.id]);
    this.inspect();
  }

  /** Sends a signal (name like 'SIGHUP'/'HUP' or number) to the container's first process. */
  async kill(signal: NodeJS.Signals | string | number = 'SIGKILL'): Promise<void> {
    await runtimeCommandOk(this.root, 'kill', ['kill', this.id, String(signal)]);
  }

  /**
   * Freezes every process of the container through its cgroup (docker's `pause`): they keep their
   * memory and sockets but get no CPU until `unpause()`. Rejects with ContainerStateError unless running.
   */
  async pause(): Promise<void> {
    await runtimeCommandOk(this.root, 'pause', ['pause', this.id]);
  }

  /**
   * New limits for a created, running or paused container (docker's `update`): memory, CPU, cpuset,
   * pids and block I/O options of `resources`, with the same units and checks as at creation.
   * ulimits, shmSize and tmpfs belong to a new container and are refused.
   */
  async update(resources: ResourceOptions): Promise<void> {
    const section = nativeBuildResources(JSON.stringify(validateResourceOptions(resources)));
    await runtimeCommandOk(this.root, 'update', ['update', '--resources', '-', this.id], JSON.stringify(section));
  }

  /** Thaws a paused container; rejects with ContainerStateError when it is not paused. */
  async unpause(): Promise<void> {
    await runtimeCommandOk(this.root, 'unpause', ['resume', this.id]);
  }

  /**
   * The stop signal, then SIGKILL after `timeout` seconds; resolves with the exit status. A paused
   * container takes no signal: rejects with ContainerStateError (`ERR_PAUSED`), as docker does.
   */
  async stop(o: StopOptions = {}): Promise<ExitStatus> {
    const s = this.inspect();
    // The image's StopSignal unless one is given, as docker.
    const signal = o.signal ?? s.image?.stopSignal ?? 'SIGTERM';
    if (s.status === 'paused') await this.kill(signal);
    if (s.status !== 'running' && s.status !== 'created') return this.wait();
    try {
      await this.kill(signal);
    } catch {
      /* ended meanwhile */
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), (o.timeout ?? 10) * 1000);
    try {
      return await this.wait({ signal: ac.signal });
    } catch {
      await this.kill('SIGKILL').catch(() => {});
      return this.wait();
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Removes the container and everything it left, its network endpoints included (recorded in
   * endpoints.json by whichever process started it); `force` kills it first if it runs.
   */
  async remove(o: { force?: boolean } = {}): Promise<void> {
    const errors: unknown[] = [];
    // Those the monitor released at the container's exit are not detached again.
    const endpoints = unreleasedEndpoints(this.root, this.id);
    try {
      await runtimeCommandOk(this.root, 'rm', ['delete', ...(o.force ? ['--force'] : []), this.id]);
    } catch (e) {
      // Still there (running, without force): its endpoints stay with it.
      if (endpoints.length && existsSync(path.join(this.root, this.id))) throw e;
      errors.push(e);
    }
    errors.push(...(await releaseEndpoints(endpoints)));
    // A rootless helper's keeper cleans up after itself; if it was killed, its files are left to us.
    errors.push(...(await releaseRootless(this.root, this.id)));
    for (const t of this.teardowns.splice(0).reverse()) {
      try {
        await t.teardown();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  }

  exec(command: string[], o: ExecOptions = {}): ExecProcess {
    return startExec(this.root, this.id, command, o);
  }

  /** The log as an async iterator; `follow` ends when the container has ended. */
  logs(o: LogOptions = {}): AsyncGenerator<LogEntry> {
    const s = this.inspect();
    const logPath = s.logPath || path.join(this.root, this.id, 'container.log');
    return readLog(logPath, () => {
      try {
        const st = this.inspect().status;
        return st === 'exited' || st === 'dead';
      } catch {
        return true;
      }
    }, o);
  }

  /** Every process in the container's cgroup: host pid, pid inside, uid, command. */
  top(): ContainerProcess[] {
    const s = this.inspect();
    const cg = s.cgroups.find((c) => c.includes('/pids/')) ?? s.cgroups.find((c) => c.includes('/unified')) ?? s.cgroups[0];
    if (!cg) return [];
    let procs: number[] = [];
    try {
      procs = readFileSync(path.join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
    const out: ContainerProcess[] = [];
    for (const pid of procs) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const field = (k: string) => /^(\S+):\s*(.*)$/m.exec(status.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '')?.[2] ?? '';
        const nspids = field('NSpid').split(/\s+/).filter(Boolean).map(Number);
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
        out.push({ pid, nsPid: nspids.length ? nspids[nspids.length - 1]! : null, ppid: Number(field('PPid')), uid: Number(field('Uid').split(/\s+/)[0]), command: cmd || `[${field('Name')}]` });
      } catch {
        /* exited meanwhile */
      }
    }
    return out;
  }

  /** Its usage now (one read: `cpuPercent` is null; `stats()` measures it over time). */
  readStats(): StatsSample {
    return sample(readStats(this.inspect()));
  }

  /**
   * Its usage every `interval` ms (default 1000): CPU % over the interval (100 = one CPU), memory
   * without inactive page cache, pids, block and network I/O. Ends when the container is removed
   * (a stopped one reads zeros, as in docker) or `signal` aborts.
   */
  async *stats(o: StatsOptions = {}): AsyncGenerator<StatsSample> {
    let gone = false;
    const states = (): ContainerState[] => {
      try {
        return [this.inspect()];
      } catch {
        gone = true;
        return [];
      }
    };
    for await (const batch of streamStats(states, o)) {
      if (gone || !batch[0]) return;
      yield batch[0];
    }
  }

  /** `await using c = await rt.run(…)`: removes the container (forcefully) at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove({ force: true });
  }
}
