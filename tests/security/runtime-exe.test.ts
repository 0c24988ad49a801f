// Issue #9, class 3 (runc CVE-2019-5736): the runtime's executable must not be reachable, writable
// or changeable from inside a container, and the caller's environment must not show through /proc.
// Every attack runs against a COPY of the runtime (NSBOX_RUNTIME), so a failed defence damages only
// the copy; the test then says what changed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { cliArgv, runCli, type CliResult } from '../helpers/cli.js';
import { pidsWithArg } from '../helpers/host.js';
import { needsRoot } from '../helpers/privileged.js';

const BUILT = new URL('../../target/release/nsbox-runtime', import.meta.url).pathname;

/**
 * The attacker, run inside the container by `nsbox exec`: for each target (a pid, or `cmd:TEXT` =
 * every other process whose command line holds TEXT) it reads /proc/PID/environ, opens
 * /proc/PID/exe read-only and tries fchmod, fsetxattr, and an O_WRONLY open. One JSON line out.
 */
const PROBE = String.raw`
import errno, json, os, sys
def name(e): return errno.errorcode.get(e.errno, str(e.errno))
def pids(arg):
    if not arg.startswith('cmd:'): return [arg]
    out = []
    for p in os.listdir('/proc'):
        if not p.isdigit() or int(p) == os.getpid(): continue
        try: cl = open('/proc/%s/cmdline' % p, 'rb').read()
        except OSError: continue
        if arg[4:].encode() in cl: out.append(p)
    return out
res = []
for arg in sys.argv[1:]:
    for pid in pids(arg):
        r = {'target': arg, 'pid': pid}
        try: r['environ'] = open('/proc/%s/environ' % pid, 'rb').read().decode('utf8', 'replace')
        except OSError as e: r['environ'] = name(e)
        try: fd = os.open('/proc/%s/exe' % pid, os.O_RDONLY)
        except OSError as e:
            r['open'] = name(e); res.append(r); continue
        st = os.fstat(fd)
        r.update(open='ok', dev=st.st_dev, ino=st.st_ino)
        for op, f in (('fchmod', lambda: os.fchmod(fd, 0o700)), ('setxattr', lambda: os.setxattr(fd, 'user.x', b'pwned'))):
            try: f(); r[op] = 'ok'
            except OSError as e: r[op] = name(e)
        try: os.close(os.open('/proc/%s/exe' % pid, os.O_WRONLY)); r['wronly'] = 'ok'
        except OSError as e: r['wronly'] = name(e)
        os.close(fd)
        res.append(r)
print(json.dumps(res))
`;

interface Attempt {
  target: string;
  pid: string;
  environ: string;
  open: string;
  dev?: number;
  ino?: number;
  fchmod?: string;
  setxattr?: string;
  wronly?: string;
}

interface Fingerprint {
  mode: number;
  xattrs: string[];
  sha256: string;
}

function fingerprint(file: string): Fingerprint {
  const xattrs = spawnSync('python3', ['-c', 'import os, sys; print("\\n".join(sorted(os.listxattr(sys.argv[1]))))', file], { encoding: 'utf8' });
  if (xattrs.status !== 0) throw new Error(`listxattr ${file}: ${xattrs.stderr}`);
  return {
    mode: statSync(file).mode,
    xattrs: xattrs.stdout.split('\n').filter(Boolean),
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
  };
}

/** A private state root, a copy of the runtime, a secret in the caller's environment; all removed. */
function setup(t: ExecutionContext, seal: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-exe-'));
  const copy = path.join(dir, 'nsbox-runtime');
  copyFileSync(BUILT, copy);
  const secret = `NSBOX_TEST_SECRET=${randomBytes(8).toString('hex')}`;
  const env = { ...process.env, NSBOX_RUNTIME: copy, NSBOX_ROOT: path.join(dir, 'root'), NSBOX_TEST_SECRET: secret.split('=')[1], NSBOX_SEAL: seal };
  const cli = (args: string[]) => runCli(args, { env });
  const started: ChildProcess[] = [];
  const names: string[] = [];
  const pids: number[] = [];
  t.teardown(async () => {
    const failures: string[] = [];
    for (const n of names) {
      const r = await cli(['rm', '-f', n]);
      if (r.code !== 0 && !/no such container/i.test(r.stderr)) failures.push(`rm -f ${n}: ${r.stderr}`);
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (failures.length) throw new Error(failures.join('\n'));
  });
  const before = fingerprint(copy);
  const host = statSync(copy);
  return {
    dir, copy, secret, cli, before,
    /** Detached, named, removed in teardown. */
    async detached(name: string, args: string[]): Promise<void> {
      names.push(name);
      const r = await cli(['run', '-d', '--name', name, ...args]);
      if (r.code !== 0) throw new Error(`run -d ${name}: ${r.code} ${r.stderr}`);
    },
    /** A CLI command left running (`exec NAME CMD`, a foreground `run`); killed in teardown. */
    background(args: string[]): ChildProcess {
      const [file, argv] = cliArgv(args);
      const c = spawn(file, argv, { env, stdio: 'ignore' });
      started.push(c);
      return c;
    },
    async probe(name: string, targets: string[]): Promise<Attempt[]> {
      const r: CliResult = await cli(['exec', name, 'python3', '-c', PROBE, ...targets]);
      if (r.code !== 0) throw new Error(`probe in ${name}: ${r.code} ${r.stderr}`);
      return JSON.parse(r.stdout) as Attempt[];
    },
    /**
     * A foreground container has no name to exec into: enter the namespaces of its PID 1 (host pid
     * `pid`) with nsenter instead. That attacker keeps all of root's capabilities, SYS_PTRACE too.
     */
    probeVia(pid: number, targets: string[]): Attempt[] {
      pids.push(pid);
      const r = spawnSync('nsenter', ['-t', String(pid), '-a', '-r', '-w', 'python3', '-c', PROBE, ...targets], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`probe via nsenter -t ${pid}: ${r.status} ${r.stderr}`);
      return JSON.parse(r.stdout) as Attempt[];
    },
    /** Whatever the probe got hold of: if it is the host's copy, every change must have failed. */
    check(attempts: Attempt[], wanted: string[]) {
      for (const w of wanted) t.true(attempts.some((a) => a.target === w), `the probe found a process for ${w}: ${JSON.stringify(attempts)}`);
      // Everything first: AVA stops a test at its first failed assertion.
      for (const a of attempts) t.log(JSON.stringify({ ...a, environ: a.environ.includes(secret) ? "(has the caller's secret)" : a.environ.slice(0, 80) }));
      for (const a of attempts) {
        const what = `${a.target} (pid ${a.pid}): ${JSON.stringify({ ...a, environ: undefined })}`;
        t.false(a.environ.includes(secret), `the caller's environment shows through /proc/${a.pid}/environ`);
        if (a.open !== 'ok') {
          t.is(a.open, 'EACCES', what);
          continue;
        }
        if (a.dev === host.dev && a.ino === host.ino) {
          for (const op of ['fchmod', 'setxattr', 'wronly'] as const) t.not(a[op], 'ok', `${op} on the host's runtime file: ${what}`);
        }
      }
    },
  };
}

/** A FIFO the runtime copy inside the container blocks on: it stays the runtime, visible, until killed. */
function fifoBundle(dir: string): string {
  const b = path.join(dir, 'fifo-bundle');
  const r = spawnSync('sh', ['-c', `mkdir -p "${b}" && mkfifo "${b}/config.json"`]);
  if (r.status !== 0) throw new Error(`mkfifo: ${r.stderr}`);
  return b;
}

/** The container process running `/proc/self/exe ... ID` (not the CLI that asked for it). */
function innerRuntime(id: string): number | undefined {
  return pidsWithArg(id).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === '/proc/self/exe';
    } catch {
      return false;
    }
  });
}

async function until<T>(what: string, f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// NSBOX_SEAL picks the mechanism; each must hold on its own.
for (const [seal, capAdd] of [['bind', []], ['memfd', []], ['bind', ['--cap-add', 'SYS_PTRACE']], ['memfd', ['--cap-add', 'SYS_PTRACE']]] as const) {
  // With SYS_PTRACE, non-dumpable no longer keeps the probe out: the seal itself must hold.
  const how = `${seal}, ${capAdd.length ? 'with --cap-add SYS_PTRACE (the seal alone)' : 'default container'}`;
  test(`runtime-exe: ${how}: --init's PID 1, a running exec and /proc/self/exe as the command cannot change the runtime's file or show the caller's environment`, async (t) => {
    if (!needsRoot(t)) return;
    const s = setup(t, seal);
    const tag = `nsbox-exe-${randomBytes(4).toString('hex')}`;
    const bundle = fifoBundle(s.dir);
    const vol = ['-v', `${bundle}:/tmp/fifo`];
    // X: --init, so PID 1 is ours for the container's whole life.
    await s.detached(`${tag}-x`, [...capAdd, ...vol, '--init', '--', 'sleep', '600']);
    // An exec whose command is the runtime's own binary (classic vector), blocked on the FIFO.
    s.background(['exec', `${tag}-x`, '/proc/self/exe', 'run', '--bundle', '/tmp/fifo', `${tag}-inner-exec`]);
    // Y: a container whose command is /proc/self/exe, also blocked on the FIFO, as its PID 1.
    await s.detached(`${tag}-y`, [...capAdd, ...vol, '--', '/proc/self/exe', 'run', '--bundle', '/tmp/fifo', `${tag}-inner-run`]);
    // Z: the same as the command of a foreground `nsbox run`.
    s.background(['run', ...capAdd, ...vol, '--', '/proc/self/exe', 'run', '--bundle', '/tmp/fifo', `${tag}-inner-fg`]);
    const inner = [`${tag}-inner-exec`, `${tag}-inner-run`, `${tag}-inner-fg`];
    await until('the runtime copies blocked inside', () => (inner.every((id) => innerRuntime(id) !== undefined) ? true : undefined));

    const inX = await s.probe(`${tag}-x`, ['1', `cmd:${tag}-inner-exec`]);
    const inY = await s.probe(`${tag}-y`, ['1']);
    const inZ = s.probeVia(innerRuntime(`${tag}-inner-fg`)!, ['1']);
    const after = fingerprint(s.copy);
    t.log(`runtime copy before ${JSON.stringify(s.before)} after ${JSON.stringify(after)}`);
    s.check(inX, ['1', `cmd:${tag}-inner-exec`]);
    s.check(inY, ['1']);
    s.check(inZ, ['1']);
    t.deepEqual(after, s.before, "the runtime copy's mode, xattrs and contents are unchanged");
  });
}
