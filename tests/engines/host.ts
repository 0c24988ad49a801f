/**
 * A throwaway "host" for real container engines (podman, containerd): a private mount namespace and a
 * new cgroup namespace, held open by one small process, in which every engine command runs (through
 * `nsenter`). Inside it:
 *   - /run is a fresh tmpfs, so whatever an engine or runtime writes to its default state directories
 *     (/run/containerd, /run/runc, /run/crun, /run/nsbox, /run/libpod …) is private and dies with it;
 *   - /var/lib is an overlay whose upper layer lives in the host's temp dir, so caches engines keep
 *     there regardless of their roots (podman's /var/lib/containers/cache) never reach the machine;
 *   - every cgroup hierarchy is re-rooted at the test's own cgroup (bind of our cgroup over the
 *     hierarchy's mount point, with a cgroup namespace rooted at it), so a cgroup parent such as
 *     `/nsbox-eng-123-ab` lands BELOW the test's own cgroup in every hierarchy; the cgroups we start
 *     in are never moved or removed. On a hybrid host the cgroup2 mount /sys/fs/cgroup/unified is
 *     unmounted there, because crun 1.8 refuses hybrid layouts.
 * Engines' own state (graph roots, sockets, configs) goes to a temp dir. Nothing here touches the
 * machine's network: engines are run with networking off (`--network none`, no CNI).
 *
 * close() stops everything by PID: every process still provably ours (in the private mount namespace
 * while the holder keeps it, or in a cgroup below our unique parent), then the holder; the namespace
 * and all its mounts go with it.
 * Then it removes the cgroups made below ours and the temp dir, and reports what it had to clean.
 * If the test process dies without close(), the holder notices (it polls the test's pid) and does
 * the same from inside.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface CmdResult {
  /** The command line, for messages. */
  cmd: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CloseReport {
  /** Processes that were still in the private namespace and had to be killed (pid comm). */
  killed: string[];
  /** Cgroup directories removed below our own cgroup. */
  cgroupsRemoved: string[];
  /** Host paths engines must never create that appeared during the run. */
  leakedPaths: string[];
  /** Anything that could not be cleaned. */
  problems: string[];
}

/** Single-quotes argv for `sh -c` / `script -c`. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

export function missingCommands(cmds: string[]): string[] {
  return cmds.filter((c) => !which(c));
}

interface CgroupMount {
  /** Mount point on the host, e.g. /sys/fs/cgroup/memory. */
  mnt: string;
  /** Our own cgroup in that hierarchy, e.g. /process_api/2f26…. */
  own: string;
  fstype: 'cgroup' | 'cgroup2';
}

/** Every cgroup hierarchy mount and our own cgroup in it, from /proc/self/cgroup and mountinfo. */
export function cgroupMounts(): CgroupMount[] {
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const m = line.match(/^\d+:([^:]*):(.*)$/);
    if (m) own.set(m[1]!, m[2]!);
  }
  const out: CgroupMount[] = [];
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')) {
    const [pre, post] = l.split(' - ');
    const mnt = pre!.split(' ')[4]!;
    const [fstype, , superOpts = ''] = post!.split(' ');
    if (fstype === 'cgroup2') {
      if (own.has('')) out.push({ mnt, own: own.get('')!, fstype });
    } else if (fstype === 'cgroup') {
      const opts = superOpts.split(',');
      const entry = [...own].find(([ctrls]) => ctrls !== '' && ctrls.split(',').every((c) => opts.includes(c)));
      if (entry) out.push({ mnt, own: entry[1], fstype });
    }
  }
  return out;
}

/**
 * Host paths no engine may create or add to outside its private state (checked at close). In the
 * shared ones (other tests on the machine use them too) only names engines make count.
 */
const WATCHED = ['/run/containerd', '/run/containers', '/run/libpod', '/run/podman', '/var/lib/containers', '/var/lib/containerd', '/var/lib/cni', '/opt/containerd', '/etc/cni/net.d', '/etc/containers'];
const SHARED = ['/run/netns', '/var/run/netns', '/var/tmp', '/tmp'];

function snapshot(): Map<string, string[] | null> {
  const m = new Map<string, string[] | null>();
  for (const p of [...WATCHED, ...SHARED]) {
    try {
      m.set(p, readdirSync(p).sort());
    } catch {
      m.set(p, null);
    }
  }
  return m;
}

function mntNsOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function ppidOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 200);
  } catch {
    return '?';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EngineHost {
  /** The temp dir holding every engine's state (0755, under $TMPDIR). */
  readonly dir: string;
  /** The process that holds the namespaces open. */
  readonly holderPid: number;
  /** `mnt:[…]` of the private mount namespace. */
  readonly mntNs: string;
  /** A cgroup path as engines inside see it: below the test's own cgroup in every hierarchy. */
  readonly cgroupParent: string;
  /** Milliseconds from spawning the holder to its namespaces being ready. */
  readonly startMs: number;
  private readonly cgroups: CgroupMount[];
  private readonly before: Map<string, string[] | null>;
  private closed = false;

  private constructor(o: { dir: string; holderPid: number; mntNs: string; cgroupParent: string; cgroups: CgroupMount[]; before: Map<string, string[] | null>; startMs: number }) {
    this.dir = o.dir;
    this.holderPid = o.holderPid;
    this.mntNs = o.mntNs;
    this.cgroupParent = o.cgroupParent;
    this.cgroups = o.cgroups;
    this.before = o.before;
    this.startMs = o.startMs;
  }

  static async start(tag: string): Promise<EngineHost> {
    const t0 = performance.now();
    const missing = missingCommands(['unshare', 'nsenter', 'mount', 'umount']);
    if (missing.length) throw new Error(`engine host: missing ${missing.join(', ')} (util-linux, mount)`);
    const dir = mkdtempSync(path.join(tmpdir(), `nsbox-eng-${tag}-`));
    chmodSync(dir, 0o755);
    const name = `nsbox-eng-${process.pid}-${randomBytes(3).toString('hex')}`;
    const cgroups = cgroupMounts();
    const before = snapshot();

    const steps: string[] = ['set -eu'];
    const unified = cgroups.find((c) => c.fstype === 'cgroup2' && c.mnt !== '/sys/fs/cgroup' && cgroups.some((o) => o.fstype === 'cgroup'));
    if (unified) steps.push(`umount ${shellQuote([unified.mnt])}`);
    for (const c of cgroups) {
      if (c === unified || c.own === '/') continue;
      const aside = path.join(dir, `cg-aside-${path.basename(c.mnt)}`);
      steps.push(
        `mkdir -p ${shellQuote([aside])}`,
        `mount --bind ${shellQuote([path.join(c.mnt, c.own), aside])}`,
        `umount ${shellQuote([c.mnt])}`,
        `mount --move ${shellQuote([aside, c.mnt])}`,
        `rmdir ${shellQuote([aside])}`,
      );
    }
    const upper = path.join(dir, 'var-lib', 'upper');
    const work = path.join(dir, 'var-lib', 'work');
    steps.push(
      'mount -t tmpfs -o mode=0755,size=256m nsbox-engines-run /run',
      `mkdir -p ${shellQuote([upper, work])}`,
      `mount -t overlay -o ${shellQuote([`lowerdir=/var/lib,upperdir=${upper},workdir=${work}`])} nsbox-engines-var-lib /var/lib`,
      'echo ready',
      // (the test closes its ends of these pipes: a later write must not kill the watchdog with SIGPIPE)
      'exec >/dev/null 2>&1',
      'set +e',
      // Watchdog: if the test process goes away without close(), kill by pid what is provably ours (in
      // this mount namespace, or in a cgroup below our parent), remove our cgroups, mounts, temp dir.
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
      'me=$(readlink /proc/$$/ns/mnt)',
      `cgs="$(ls -d /sys/fs/cgroup/*/${name} /sys/fs/cgroup/${name} 2>/dev/null)"`,
      'for round in 1 2 3; do',
      // thaw first: a frozen process does not die of SIGKILL until it is thawed
      '  for f in $(find $cgs -name freezer.state 2>/dev/null); do echo THAWED > "$f"; done',
      '  for f in $(find $cgs -name cgroup.freeze 2>/dev/null); do echo 0 > "$f"; done',
      '  for pid in $(cat $(find $cgs -name cgroup.procs 2>/dev/null) /dev/null 2>/dev/null); do kill -9 "$pid"; done',
      '  for p in /proc/[0-9]*; do pid=${p#/proc/}; [ "$pid" = $$ ] && continue; [ "$(readlink $p/ns/mnt 2>/dev/null)" = "$me" ] && kill -9 "$pid"; done',
      '  sleep 1',
      'done',
      'for h in $cgs; do find "$h" -depth -type d -exec rmdir {} + ; done',
      // what engines mounted under the temp dir (container root filesystems) goes first, deepest first
      `for m in $(awk -v d=${shellQuote([dir])} 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m"; done`,
      `rm -rf --one-file-system ${shellQuote([dir])}`,
    );
    const holder = spawn('unshare', ['--mount', '--cgroup', '--propagation', 'private', '--', 'sh', '-c', steps.join('\n')], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    holder.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const ready = await new Promise<boolean>((resolve) => {
      let out = '';
      holder.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('ready\n')) resolve(true);
      });
      holder.on('exit', () => resolve(false));
      holder.on('error', () => resolve(false));
    });
    if (!ready || !holder.pid) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`engine host: setting up the private namespaces failed: ${err.trim() || 'the holder exited'}`);
    }
    holder.stdout!.destroy();
    holder.stderr!.destroy();
    holder.unref();
    const mntNs = mntNsOf(holder.pid);
    if (!mntNs || mntNs === mntNsOf(process.pid)) throw new Error('engine host: the holder is not in a mount namespace of its own');
    return new EngineHost({ dir, holderPid: holder.pid, mntNs, cgroupParent: `/${name}`, cgroups, before, startMs: performance.now() - t0 });
  }

  private nsenter(argv: string[]): string[] {
    return ['--target', String(this.holderPid), '--mount', '--cgroup', '--', ...argv];
  }

  /** Runs argv inside the namespaces and waits for it. */
  run(argv: string[], o: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CmdResult {
    const t0 = performance.now();
    const r = spawnSync('nsenter', this.nsenter(argv), {
      encoding: 'utf8',
      input: o.input ?? '',
      env: { ...process.env, ...o.env },
      timeout: o.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 << 20,
    });
    return { cmd: shellQuote(argv), code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? `\n(${r.error.message})` : ''), ms: performance.now() - t0 };
  }

  /**
   * Runs argv inside the namespaces on a real terminal: util-linux `script` gives it a pty (the
   * input is typed into it; `script -e` returns the command's exit status). Output is the terminal's:
   * CRLF line ends, the echoed input included.
   */
  tty(argv: string[], o: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CmdResult {
    const t0 = performance.now();
    const inner = shellQuote(['nsenter', ...this.nsenter(argv)]);
    const r = spawnSync('script', ['-q', '-e', '-f', '-c', inner, '/dev/null'], {
      encoding: 'utf8',
      input: o.input ?? '',
      env: { ...process.env, TERM: 'xterm', ...o.env },
      timeout: o.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    return { cmd: `[tty] ${shellQuote(argv)}`, code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? `\n(${r.error.message})` : ''), ms: performance.now() - t0 };
  }

  /** Starts a long-lived process inside the namespaces (nsenter execs it: child.pid is its pid). */
  spawn(argv: string[], o: SpawnOptions = {}): ChildProcess {
    return spawn('nsenter', this.nsenter(argv), { stdio: ['ignore', 'pipe', 'pipe'], ...o });
  }

  /** Whether the holder still holds the private mount namespace (then its inode number is ours alone). */
  private holding(): boolean {
    return alive(this.holderPid) && mntNsOf(this.holderPid) === this.mntNs;
  }

  /**
   * Is `pid` provably ours? In the private mount namespace — trusted only while the holder keeps it
   * alive: a dead namespace's inode number is soon reused by someone else's — or in a cgroup below our
   * unique cgroup parent (containers, which have mount namespaces of their own).
   */
  private owns(pid: number): boolean {
    if (pid === this.holderPid || !alive(pid)) return false;
    if (this.holding() && mntNsOf(pid) === this.mntNs) return true;
    try {
      return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        .split('\n')
        .some((l) => l.includes(`${this.cgroupParent}/`) || l.endsWith(this.cgroupParent));
    } catch {
      return false;
    }
  }

  /** Our processes (see owns()) other than the holder and its watchdog's sleep. */
  members(): { pid: number; comm: string }[] {
    const out: { pid: number; comm: string }[] = [];
    for (const n of readdirSync('/proc')) {
      if (!/^\d+$/.test(n)) continue;
      const pid = Number(n);
      if (!this.owns(pid)) continue;
      const c = comm(pid);
      if (c === 'sleep' && ppidOf(pid) === this.holderPid) continue;
      out.push({ pid, comm: c });
    }
    return out;
  }

  /** Thaws every frozen cgroup below our parent (a frozen process does not die of SIGKILL until thawed). */
  private thawAll(): void {
    const walk = (d: string): void => {
      for (const [f, v] of [['freezer.state', 'THAWED'], ['cgroup.freeze', '0']] as const) {
        try {
          if (readFileSync(path.join(d, f), 'utf8').trim() !== v) writeFileSync(path.join(d, f), v);
        } catch {
          /* not this kind of hierarchy */
        }
      }
      let entries: import('node:fs').Dirent[] = [];
      try {
        entries = readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    };
    for (const d of this.hostCgroupDirs()) walk(d);
  }

  /**
   * Where process `pid` is in each cgroup hierarchy (as /proc/PID/cgroup says from the host) that is
   * not below `cgroupParent` under our own cgroup; empty when it is below everywhere. (On a hybrid
   * host the cgroup2 hierarchy is left out: it is unmounted in the namespace, nothing moves into it.)
   */
  cgroupsNotBelowOurs(pid: number): string[] {
    const hybrid = this.cgroups.some((c) => c.fstype === 'cgroup');
    const own = new Map<string, string>();
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
      const m = line.match(/^\d+:([^:]*):(.*)$/);
      if (m) own.set(m[1]!, m[2]!);
    }
    const out: string[] = [];
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
      const m = line.match(/^\d+:([^:]*):(.*)$/);
      if (!m || (m[1] === '' && hybrid)) continue;
      const prefix = path.posix.join(own.get(m[1]!) ?? '/', this.cgroupParent) + '/';
      if (!m[2]!.startsWith(prefix)) out.push(line);
    }
    return out;
  }

  /** Where `cgroupParent` (plus `sub`) is in each hierarchy, seen from the host. */
  hostCgroupDirs(sub = ''): string[] {
    const unified = this.cgroups.find((c) => c.fstype === 'cgroup2' && c.mnt !== '/sys/fs/cgroup' && this.cgroups.some((o) => o.fstype === 'cgroup'));
    return this.cgroups.filter((c) => c !== unified).map((c) => path.join(c.mnt, c.own, this.cgroupParent, sub));
  }

  /** The freezer state of cgroup `cgroupParent/sub`: FROZEN/THAWED (v1) or 1/0 (v2 cgroup.freeze), or null. */
  freezerState(sub: string): string | null {
    for (const d of this.hostCgroupDirs(sub)) {
      for (const f of ['freezer.state', 'cgroup.freeze']) {
        try {
          return readFileSync(path.join(d, f), 'utf8').trim();
        } catch {
          /* not this hierarchy */
        }
      }
    }
    return null;
  }

  /** Stops every process left in the namespaces by PID, removes our cgroups and the temp dir. */
  async close(): Promise<CloseReport> {
    const report: CloseReport = { killed: [], cgroupsRemoved: [], leakedPaths: [], problems: [] };
    if (this.closed) return report;
    this.closed = true;
    // Everything else first, the holder last: while it lives, the namespace's inode number is ours.
    this.thawAll();
    const deadline = Date.now() + 10_000;
    const seen = new Set<number>();
    for (;;) {
      // (again until none is left: a dying conmon or shim may still have started something)
      const left = this.members();
      for (const m of left) {
        if (!this.owns(m.pid)) continue; // (checked again just before the signal: pids get reused)
        if (!seen.has(m.pid)) report.killed.push(`${m.pid} ${m.comm}: ${cmdline(m.pid)}`);
        seen.add(m.pid);
        try {
          process.kill(m.pid, 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
      }
      if (!left.length || Date.now() > deadline) break;
      await sleep(50);
    }
    // The holder: stopped first so that its watchdog forks no new `sleep`, then its sleep, then itself.
    try {
      process.kill(this.holderPid, 'SIGSTOP');
      for (const n of readdirSync('/proc')) {
        const pid = Number(n);
        if (/^\d+$/.test(n) && ppidOf(pid) === this.holderPid && comm(pid) === 'sleep') process.kill(pid, 'SIGKILL');
      }
      process.kill(this.holderPid, 'SIGKILL');
    } catch {
      /* gone */
    }
    while (alive(this.holderPid) && Date.now() < deadline + 5000) await sleep(20);
    for (const m of this.members()) report.problems.push(`process ${m.pid} ${m.comm} is still ours`);
    // (a killed process may linger as a zombie if its parent does not reap it; a zombie holds no namespace)

    for (const d of this.hostCgroupDirs()) {
      if (!existsSync(d)) continue;
      for (let attempt = 0; ; attempt++) {
        try {
          removeTree(d, report.cgroupsRemoved);
          break;
        } catch (e) {
          if (attempt >= 20) {
            report.problems.push(`cgroup ${d}: ${(e as Error).message}`);
            break;
          }
          await sleep(50);
        }
      }
    }

    const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(this.dir));
    if (mounted.length) report.problems.push(`mounts under ${this.dir} seen from the host: ${mounted.join('; ')}`);
    else rmSync(this.dir, { recursive: true, force: true });

    const after = snapshot();
    for (const [p, was] of this.before) {
      const now = after.get(p) ?? null;
      if (was === null && now !== null) report.leakedPaths.push(`${p} (created)`);
      else if (was && now) for (const e of now) if (!was.includes(e) && (!SHARED.includes(p) || isOurs(e))) report.leakedPaths.push(path.join(p, e));
    }
    return report;
  }
}

/** Names engines create in the watched directories (other tests on the machine may add their own there). */
function isOurs(entry: string): boolean {
  // podman's and containers/image's temp names (oci-archive extraction, big files), containerd's, netns names
  return /^(podman|libpod|containers|containerd|cni-|oci\d|storage\d|docker-tar|ctd-|netns-|pty\d)/.test(entry) || /^[0-9a-f]{64}$/.test(entry);
}

function removeTree(dir: string, removed: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(path.join(dir, e.name), removed);
  rmdirSync(dir);
  removed.push(dir);
}

/**
 * A wrapper for `runtimePath` that appends its argv (one line per call) to DIR/trace-NAME.log and
 * then execs it (same pid, same fds): what an engine asked of the runtime, for failure messages.
 */
export function traceWrapper(host: EngineHost, name: string, runtimePath: string): string {
  const wrapper = path.join(subdir(host, 'trace'), `${name}.sh`);
  const log = path.join(host.dir, 'trace', `${name}.log`);
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${shellQuote([log])}\nexec ${shellQuote([runtimePath])} "$@"\n`, { mode: 0o755 });
  return wrapper;
}

/** The calls traced by traceWrapper(), oldest first. */
export function traceLines(host: EngineHost, name: string): string[] {
  try {
    return readFileSync(path.join(host.dir, 'trace', `${name}.log`), 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Makes a directory inside the host's temp dir and returns it. */
export function subdir(host: EngineHost, ...parts: string[]): string {
  const d = path.join(host.dir, ...parts);
  mkdirSync(d, { recursive: true });
  return d;
}
