/**
 * Debian's podman 4.3 (+ conmon) with PRIVATE state, inside an EngineHost: its own graph root, run
 * root, tmp dir, lock files, events log, network config dir, a containers.conf (CONTAINERS_CONF) and
 * storage.conf (CONTAINERS_STORAGE_CONF) of its own; cgroupfs as cgroup manager; no network (every
 * run passes `--network none`, and `netns = "none"` is the default too); containers' cgroups below
 * the test's own cgroup (`--cgroup-parent`). Podman is daemonless: "stopped" means `podman rm -af`
 * in the private root, then EngineHost.close() kills by PID whatever is left in the namespace.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { OciImage } from '../helpers/oci-image.js';
import { EngineHost, subdir, traceLines, traceWrapper, type CloseReport, type CmdResult } from './host.js';
import type { RuntimeUnderTest } from './runtimes.js';

export interface PodmanOptions {
  /** Storage driver; `overlay` works on this machine's ext4 /tmp, `vfs` works anywhere. */
  driver?: 'overlay' | 'vfs';
  /** Wrap each runtime in a script that logs its argv (see traceWrapper). */
  trace?: boolean;
}

const q = (s: string) => JSON.stringify(s);

function hardLimit(name: 'Max open files' | 'Max processes'): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const v = line?.slice(name.length).trim().split(/\s+/)[1];
  return v === undefined || v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v);
}

export class Podman {
  readonly host: EngineHost;
  readonly root: string;
  readonly runroot: string;
  readonly tmpdir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly runtimes: RuntimeUnderTest[];
  /** How long the first podman command (`podman info`) took: podman's start cost, as CI pays it. */
  infoMs = 0;

  constructor(host: EngineHost, runtimes: RuntimeUnderTest[], o: PodmanOptions = {}) {
    this.host = host;
    this.runtimes = runtimes;
    const base = subdir(host, 'podman');
    this.root = subdir(host, 'podman', 'storage');
    this.runroot = subdir(host, 'podman', 'run');
    this.tmpdir = subdir(host, 'podman', 'tmp');
    const copyTmp = subdir(host, 'podman', 'image-copy-tmp');
    const nets = subdir(host, 'podman', 'networks');
    const volumes = subdir(host, 'podman', 'volumes');

    // The runtimes podman may use, by name; a traced one goes through a logging wrapper.
    const entries = runtimes.map((r) => [r.name, o.trace ? traceWrapper(host, r.name, r.path) : r.path] as const);
    // This workplace's root has no CAP_SYS_RESOURCE, so podman's rootful defaults (nofile 1048576;
    // podman itself drops to nproc 32768) cannot be granted: ask for what the engine has.
    const nofile = Math.min(hardLimit('Max open files'), 1048576);
    const nproc = Math.min(hardLimit('Max processes'), 32768);
    const containersConf = [
      '[containers]',
      'netns = "none"',
      `default_ulimits = [${q(`nofile=${nofile}:${nofile}`)}, ${q(`nproc=${nproc}:${nproc}`)}]`,
      'log_driver = "k8s-file"',
      '',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${q(path.join(base, 'events.log'))}`,
      'lock_type = "file"',
      `tmp_dir = ${q(this.tmpdir)}`,
      `static_dir = ${q(path.join(this.root, 'libpod'))}`,
      `volume_path = ${q(volumes)}`,
      `image_copy_tmp_dir = ${q(copyTmp)}`,
      `runtime = ${q(runtimes[0]?.name ?? 'crun')}`,
      `runtime_supports_json = [${[...new Set([...runtimes.map((r) => r.name), 'crun', 'runc'])].map(q).join(', ')}]`,
      '',
      '[engine.runtimes]',
      ...entries.map(([name, p]) => `${q(name)} = [${q(p)}]`),
      '',
      '[network]',
      `network_config_dir = ${q(nets)}`,
      '',
    ].join('\n');
    const storageConf = ['[storage]', `driver = ${q(o.driver ?? 'overlay')}`, `graphroot = ${q(this.root)}`, `runroot = ${q(this.runroot)}`, ''].join('\n');
    const registriesConf = 'unqualified-search-registries = []\n';
    writeFileSync(path.join(base, 'containers.conf'), containersConf);
    writeFileSync(path.join(base, 'storage.conf'), storageConf);
    writeFileSync(path.join(base, 'registries.conf'), registriesConf);
    this.env = {
      CONTAINERS_CONF: path.join(base, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: path.join(base, 'storage.conf'),
      CONTAINERS_REGISTRIES_CONF: path.join(base, 'registries.conf'),
      TMPDIR: this.tmpdir,
    };
  }

  private argv(args: string[], runtime?: RuntimeUnderTest): string[] {
    return ['podman', '--root', this.root, '--runroot', this.runroot, '--tmpdir', this.tmpdir, ...(runtime ? ['--runtime', runtime.name] : []), ...args];
  }

  /** `podman [--runtime NAME] ARGS…` in the private state. */
  cmd(args: string[], o: { runtime?: RuntimeUnderTest; input?: string; timeoutMs?: number } = {}): CmdResult {
    return this.host.run(this.argv(args, o.runtime), { env: this.env, input: o.input, timeoutMs: o.timeoutMs });
  }

  /** The same on a terminal (for `-it`). */
  tty(args: string[], o: { runtime?: RuntimeUnderTest; input?: string; timeoutMs?: number } = {}): CmdResult {
    return this.host.tty(this.argv(args, o.runtime), { env: this.env, input: o.input, timeoutMs: o.timeoutMs });
  }

  /** The runtime calls podman (through conmon) made, when started with `trace`. */
  trace(runtime: RuntimeUnderTest): string[] {
    return traceLines(this.host, runtime.name);
  }

  /** What every `run`/`create` of the tests adds: no network, cgroups below ours. */
  get runFlags(): string[] {
    return ['--network', 'none', '--cgroup-parent', this.host.cgroupParent];
  }

  /** Loads the fixture (docker archive by default; `oci` for the OCI archive) and returns its ref. */
  load(image: OciImage, form: 'docker' | 'oci' = 'docker'): CmdResult {
    return this.cmd(['load', '-i', form === 'docker' ? image.dockerArchive : image.ociArchive]);
  }

  /** `podman rm -af` in the private root, then the host's close(). */
  async close(): Promise<CloseReport & { rm: CmdResult }> {
    const rm = this.cmd(['rm', '--all', '--force', '--time', '0'], { timeoutMs: 60_000 });
    // conmon runs podman's exit command (`podman container cleanup`) on its own: let it finish.
    for (const end = Date.now() + 5000; this.host.members().length && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    const report = await this.host.close();
    return { ...report, rm };
  }
}

/** Starts a host and podman in it, loads `image`; measures the first command. */
export async function startPodman(runtimes: RuntimeUnderTest[], image: OciImage, o: PodmanOptions = {}): Promise<{ podman: Podman; loadMs: number }> {
  const host = await EngineHost.start('podman');
  const podman = new Podman(host, runtimes, o);
  try {
    const info = podman.cmd(['info', '--format', '{{.Host.CgroupManager}} {{.Host.CgroupsVersion}} {{.Store.GraphDriverName}}']);
    podman.infoMs = info.ms;
    if (info.code !== 0) throw new Error(`podman info failed (${info.code}): ${info.stderr.trim()}`);
    const load = podman.load(image);
    if (load.code !== 0) throw new Error(`podman load -i ${image.dockerArchive} failed (${load.code}): ${load.stderr.trim()}`);
    return { podman, loadMs: load.ms };
  } catch (e) {
    await podman.close();
    throw e;
  }
}
