/**
 * nsbox-runtime driven as engines drive runc (issue #10): `create` without a monitor leaves the
 * container waiting on its exec fifo and exits, its stdio the runtime's own (files here) or, with
 * process.terminal, the pty master sent to --console-socket (a python3 receiver plays conmon's
 * part); `start` releases it; `state`, `kill` (0, names, numbers), `exec --detach --pid-file`
 * (also with --tty --console-socket), `delete`; `delete --force` of a missing id; `--log-format
 * json` error lines; hooks; `update --resources`; `features`, `spec`, `list`. Real kernel, as root.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import test, { type ExecutionContext } from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { makeBusyboxRootfs, type Rootfs } from '../helpers/rootfs.js';
import { writeBundle } from '../lifecycle/bundle.js';
import { RUNTIME, until } from '../lifecycle/helpers.js';

const RECEIVER = fileURLToPath(new URL('../../tests/oci/console-receiver.py', import.meta.url));

interface Box {
  root: string;
  tmp: string;
  rootfs: Rootfs;
  bundle(command: string[], edit?: (spec: Record<string, any>) => void): string;
  /** A command that creates a process in the container: its stdio are a file (`out`). */
  rt(args: string[], out?: string): SpawnSyncReturns<string>;
  /** Any other command, with its stdout captured. */
  run(args: string[]): SpawnSyncReturns<string>;
  dispose(): void;
}

function box(): Box {
  const tmp = mkdtempSync(path.join(tmpdir(), 'nsbox-oci-'));
  const root = path.join(tmp, 'root');
  const rootfs = makeBusyboxRootfs();
  return {
    root, tmp, rootfs,
    bundle(command, edit) {
      const dir = writeBundle(rootfs, command);
      const file = path.join(dir, 'config.json');
      const spec = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
      edit?.(spec);
      writeFileSync(file, JSON.stringify(spec));
      return dir;
    },
    // The container keeps the runtime's stdio: a file (never a pipe we would wait on forever).
    rt(args, out = path.join(tmp, 'out.txt')) {
      // stderr too: the container keeps a pipe open, and spawnSync would wait for its end.
      const err = path.join(tmp, 'runtime-stderr.txt');
      const fd = openSync(out, 'a');
      const efd = openSync(err, 'w');
      try {
        const r = spawnSync(RUNTIME, ['--root', root, ...args], { encoding: 'utf8', stdio: ['ignore', fd, efd], timeout: 20_000 });
        return { ...r, stderr: readFileSync(err, 'utf8') };
      } finally {
        closeSync(fd);
        closeSync(efd);
      }
    },
    run(args) {
      return spawnSync(RUNTIME, ['--root', root, ...args], { encoding: 'utf8', timeout: 20_000 });
    },
    dispose() {
      for (const id of existsSync(root) ? readdirSync(root).filter((n) => !['names', 'events.jsonl', '.lock', '.seccomp-cache'].includes(n)) : []) {
        spawnSync(RUNTIME, ['--root', root, 'delete', '--force', id]);
      }
      rmSync(tmp, { recursive: true, force: true });
      rootfs.remove();
    },
  };
}

function ok(t: ExecutionContext, r: SpawnSyncReturns<string>, what: string): void {
  t.is(r.status, 0, `${what}: ${r.stderr}`);
}

const state = (b: Box, id: string) => JSON.parse(b.run(['state', id]).stdout || '{}') as { status?: string; pid?: number };

/** A python3 receiver listening on `sock`; resolves with what it read from the pty. */
function receiver(sock: string, typed = ''): { ready: Promise<void>; done: Promise<{ out: string; err: string }> } {
  const p = spawn('python3', [RECEIVER, sock, typed], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) resolveReady();
  });
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ out: string; err: string }>((r) => p.on('close', () => r({ out: out.replace(/^ready\n/, ''), err })));
  return { ready, done };
}

test.serial('create (no monitor) / start / state / kill / delete, pid file, own stdio', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  try {
    const bundle = b.bundle(['sh', '-c', 'echo hello-from-oci; trap "echo got-term; exit 9" TERM; while :; do sleep 1 & wait $!; done']);
    const pidFile = path.join(b.tmp, 'init.pid');
    const created = b.rt(['create', '--bundle', bundle, '--pid-file', pidFile, 'c1']);
    ok(t, created, 'create');
    const pidText = readFileSync(pidFile, 'utf8');
    t.regex(pidText, /^\d+$/, 'the pid file holds the pid, no newline');
    t.like(state(b, 'c1'), { status: 'created', pid: Number(pidText) });
    t.true(existsSync(path.join(b.root, 'c1', 'exec.fifo')), 'the exec fifo waits in the state dir');
    t.false(readFileSync(path.join(b.tmp, 'out.txt'), 'utf8').includes('hello'), 'nothing ran before start');
    ok(t, b.rt(['start', 'c1']), 'start');
    t.false(existsSync(path.join(b.root, 'c1', 'exec.fifo')), 'start removed the fifo');
    await until(() => readFileSync(path.join(b.tmp, 'out.txt'), 'utf8').includes('hello-from-oci'), 5000, 'output in the runtime\'s stdout file');
    t.like(state(b, 'c1'), { status: 'running' });
    const again = b.rt(['start', 'c1']);
    t.is(again.status, 125, 'a running container cannot be started again');
    t.is(again.stderr.trim().split('\n').length, 1, `one line: ${again.stderr}`);
    ok(t, b.rt(['kill', 'c1', '0']), 'kill 0 (is it there?)');
    ok(t, b.rt(['kill', 'c1', 'SIGTERM']), 'kill SIGTERM');
    await until(() => state(b, 'c1').status === 'stopped', 5000, 'stopped');
    t.is(state(b, 'c1').pid, 0);
    t.true(readFileSync(path.join(b.tmp, 'out.txt'), 'utf8').includes('got-term'));
    const dead = b.rt(['kill', 'c1', 'KILL']);
    t.is(dead.status, 125);
    t.regex(dead.stderr, /container not running/, 'runc\'s words for engines');
    const cgroups = (JSON.parse(readFileSync(path.join(b.root, 'c1', 'state.json'), 'utf8')) as { cgroups: string[] }).cgroups;
    ok(t, b.rt(['delete', 'c1']), 'delete');
    t.false(existsSync(path.join(b.root, 'c1')), 'the state dir is gone');
    t.deepEqual(cgroups.filter((c) => existsSync(c)), [], 'its cgroups are gone');
    const gone = b.rt(['state', 'c1']);
    t.not(gone.status, 0);
    t.regex(gone.stderr, /container does not exist/);
    ok(t, b.rt(['delete', '--force', 'never-was']), 'delete --force of a missing id');
    t.not(b.rt(['delete', 'never-was']).status, 0);
  } finally {
    b.dispose();
  }
});

test.serial('create refuses to hand the caller\'s terminal to a container without one', (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  try {
    const bundle = b.bundle(['true']);
    const line = [RUNTIME, '--root', b.root, 'create', '--bundle', bundle, 'tty1'].join(' ');
    const r = spawnSync('script', ['-qec', line, '/dev/null'], { encoding: 'utf8' });
    t.not(r.status, 0);
    t.regex(r.stdout, /stdin is a terminal and process\.terminal is false/);
    t.false(existsSync(path.join(b.root, 'tty1')), 'nothing left');
  } finally {
    b.dispose();
  }
});

test.serial('--console-socket: the pty master in one SCM_RIGHTS message (create and exec --tty --detach)', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  try {
    const bundle = b.bundle(['sh'], (s) => (s.process.terminal = true));
    const sock = path.join(b.tmp, 'console.sock');
    const rcv = receiver(sock, 'echo typed-$((40+2)); tty; exit 4\n');
    await rcv.ready;
    ok(t, b.rt(['create', '--bundle', bundle, '--console-socket', sock, 'tty']), 'create');
    ok(t, b.rt(['start', 'tty']), 'start');
    const { out, err } = await rcv.done;
    t.regex(err, /fds=1 payload=\/dev\/(ptmx|pts\/\d+)/);
    t.true(out.includes('typed-42'), out);
    t.regex(out, /\/dev\/pts\/0/);
    const noSocket = b.rt(['create', '--bundle', bundle, 'tty2']);
    t.regex(noSocket.stderr, /--console-socket is required/);

    // exec --detach --pid-file, without and with a terminal, beside a running container.
    const bundle2 = b.bundle(['sleep', '1000']);
    ok(t, b.rt(['create', '--bundle', bundle2, 'ex']), 'create ex');
    ok(t, b.rt(['start', 'ex']), 'start ex');
    const out2 = path.join(b.tmp, 'exec.txt');
    const ePid = path.join(b.tmp, 'exec.pid');
    ok(t, b.rt(['exec', '--detach', '--pid-file', ePid, 'ex', 'sh', '-c', 'echo in-exec; cat /proc/1/cmdline'], out2), 'exec --detach');
    t.regex(readFileSync(ePid, 'utf8'), /^\d+$/);
    await until(() => readFileSync(out2, 'utf8').includes('sleep'), 5000, 'exec output');
    t.regex(readFileSync(out2, 'utf8'), /^in-exec\nsleep\x001000/);
    const sock2 = path.join(b.tmp, 'exec.sock');
    const rcv2 = receiver(sock2);
    await rcv2.ready;
    const proc = path.join(b.tmp, 'process.json');
    writeFileSync(proc, JSON.stringify({ terminal: true, user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'tty; echo exec-tty-done'], env: ['PATH=/bin'], cwd: '/' }));
    ok(t, b.rt(['exec', '--process', proc, '--tty', '--console-socket', sock2, '--detach', '--pid-file', ePid, 'ex']), 'exec --tty --console-socket');
    const r2 = await rcv2.done;
    t.regex(r2.out, /\/dev\/pts\/\d+\r?\nexec-tty-done/);
    ok(t, b.rt(['delete', '--force', 'ex']), 'delete --force a running container');
    t.false(existsSync(path.join(b.root, 'ex')));
  } finally {
    b.dispose();
  }
});

test.serial('hooks run at their points with the state on stdin', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  try {
    const dir = b.tmp;
    const hook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${dir}/${name}.json`], timeout: 5 });
    const bundle = b.bundle(['sleep', '1000'], (s) => {
      s.hooks = {
        prestart: [hook('prestart')], createRuntime: [hook('createRuntime')], createContainer: [hook('createContainer')],
        // In the container, after start: its own sh, its own /tmp.
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/startContainer.json'] }],
        poststart: [hook('poststart')], poststop: [hook('poststop')],
      };
    });
    ok(t, b.rt(['create', '--bundle', bundle, 'hk']), 'create');
    const pid = state(b, 'hk').pid;
    for (const h of ['prestart', 'createRuntime', 'createContainer']) {
      t.like(JSON.parse(readFileSync(path.join(dir, `${h}.json`), 'utf8')), { id: 'hk', pid, bundle }, h);
    }
    // prestart as crun gives it (the OCI suite's hooks_stdin), createRuntime as runc gives it
    t.like(JSON.parse(readFileSync(path.join(dir, 'prestart.json'), 'utf8')), { status: 'created' });
    t.like(JSON.parse(readFileSync(path.join(dir, 'createRuntime.json'), 'utf8')), { status: 'creating' });
    t.false(existsSync(path.join(b.rootfs.root, 'tmp', 'startContainer.json')), 'startContainer waits for start');
    ok(t, b.rt(['start', 'hk']), 'start');
    t.like(JSON.parse(readFileSync(path.join(dir, 'poststart.json'), 'utf8')), { id: 'hk', status: 'running', pid });
    await until(() => existsSync(path.join(b.rootfs.root, 'tmp', 'startContainer.json')), 5000, 'startContainer');
    t.false(existsSync(path.join(dir, 'poststop.json')));
    ok(t, b.rt(['delete', '--force', 'hk']), 'delete');
    t.like(JSON.parse(readFileSync(path.join(dir, 'poststop.json'), 'utf8')), { id: 'hk', status: 'stopped' });

    const failing = b.bundle(['true'], (s) => (s.hooks = { createRuntime: [{ path: '/bin/false' }] }));
    const r = b.rt(['create', '--bundle', failing, 'hk2']);
    t.is(r.status, 125);
    t.regex(r.stderr, /createRuntime hook\(\/bin\/false\): ERR_HOOK: exited with 1/);
    t.false(existsSync(path.join(b.root, 'hk2')), 'a failed create leaves nothing');
  } finally {
    b.dispose();
  }
});

test.serial('--log --log-format json: one JSON error line in the log and on stderr', (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  try {
    const log = path.join(b.tmp, 'log.json');
    const r = b.rt(['--log', log, '--log-format=json', 'state', 'nosuch']);
    t.is(r.status, 125);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    t.is(lines.length, 1);
    const e = JSON.parse(lines[0]!) as { level: string; msg: string; time: string };
    t.is(e.level, 'error');
    t.regex(e.msg, /no such container: nosuch.*container does not exist/);
    t.regex(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    t.is(r.stderr.trim(), lines[0], 'repeated on stderr');
    const usage = b.rt(['--log', log, 'create', '--bogus', 'x']);
    t.is(usage.stderr.trim().split('\n').length, 1, 'a usage error is one line, never the usage text');
    t.regex(readFileSync(log, 'utf8'), /level=error msg=".*unknown flag --bogus for create/);
  } finally {
    b.dispose();
  }
});

test.serial('features, spec, list -q / --format json, --version', (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  try {
    const f = JSON.parse(b.run(['features']).stdout) as Record<string, any>;
    t.is(f.ociVersionMax, '1.2.0');
    t.deepEqual(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    t.true((f.linux.namespaces as string[]).includes('pid'));
    t.true((f.linux.capabilities as string[]).includes('CAP_SYS_ADMIN'));
    t.false(f.linux.apparmor.enabled);
    t.true((f.linux.seccomp.actions as string[]).includes('SCMP_ACT_ERRNO'));
    const dir = mkdtempSync(path.join(b.tmp, 'spec-'));
    ok(t, b.rt(['spec', '--bundle', dir]), 'spec');
    const spec = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, any>;
    t.is(spec.ociVersion, '1.2.0');
    t.is(spec.root.path, 'rootfs');
    const again = b.rt(['spec', '--bundle', dir]);
    t.regex(again.stderr, /EEXIST/);
    ok(t, b.rt(['spec', '--rootless', '--bundle', mkdtempSync(path.join(b.tmp, 'spec-'))]), 'spec --rootless');
    ok(t, b.rt(['create', '--bundle', b.bundle(['sleep', '100']), 'l1']), 'create');
    t.is(b.run(['list', '-q']).stdout, 'l1\n');
    const list = JSON.parse(b.run(['list', '--format', 'json']).stdout) as Array<{ id: string; status: string }>;
    t.like(list[0], { id: 'l1', status: 'created' });
    t.regex(b.run(['list']).stdout, /^ID\tPID\tSTATUS/);
    t.deepEqual(JSON.parse(b.run(['ps', '--format', 'json', 'l1']).stdout), [state(b, 'l1').pid]);
    const ev = JSON.parse(b.run(['events', '--stats', 'l1']).stdout) as { type: string; id: string; data: Record<string, any> };
    t.like(ev, { type: 'stats', id: 'l1' });
    t.true(ev.data.pids.current >= 1, JSON.stringify(ev.data));
    ok(t, b.rt(['delete', 'l1']), 'delete of a created container (as runc: no --force needed)');
    t.regex(b.run(['--version']).stdout, /^nsbox-runtime version \S+\nspec: 1\.2\.0\n/);
  } finally {
    b.dispose();
  }
});

test.serial('update --resources: pids, cpu and memory written into the running container\'s cgroups; refusals change nothing', (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  try {
    ok(t, b.rt(['create', '--bundle', b.bundle(['sleep', '1000']), 'up']), 'create');
    ok(t, b.rt(['start', 'up']), 'start');
    const cgroups = (JSON.parse(readFileSync(path.join(b.root, 'up', 'state.json'), 'utf8')) as { cgroups: string[] }).cgroups;
    // v1 (a directory per controller) or cgroup2 (one directory): the file wherever it is.
    const read = (file: string) => cgroups.map((d) => path.join(d, file)).filter((f) => existsSync(f)).map((f) => readFileSync(f, 'utf8').trim());
    const update = (resources: unknown) => {
      const file = path.join(b.tmp, 'resources.json');
      writeFileSync(file, JSON.stringify(resources));
      return b.rt(['update', '--resources', file, 'up']);
    };
    ok(t, update({ pids: { limit: 42 }, memory: { limit: 256 * 1024 * 1024 } }), 'update');
    t.deepEqual(read('pids.max'), ['42']);
    t.deepEqual([...read('memory.limit_in_bytes'), ...read('memory.max')], [String(256 * 1024 * 1024)]);
    const ev = JSON.parse(b.run(['events', '--stats', 'up']).stdout) as { data: { pids: { limit: number } } };
    t.is(ev.data.pids.limit, 42, 'events --stats reads the new limit');
    // Refused when the whole section is checked, before anything is written.
    const refused = update({ pids: { limit: 7 }, hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] });
    t.is(refused.status, 125);
    t.regex(refused.stderr, /linux\.resources\.hugepageLimits/);
    t.is(refused.stderr.trim().split('\n').length, 1);
    t.deepEqual(read('pids.max'), ['42'], 'a refused update wrote nothing');
    ok(t, b.rt(['delete', '--force', 'up']), 'delete');
    t.deepEqual(cgroups.filter((c) => existsSync(c)), [], 'its cgroups are gone');
  } finally {
    b.dispose();
  }
});
