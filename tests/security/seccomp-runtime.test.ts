/**
 * Issue #9, class 5, continued: the filter where it is easy to lose — `--init` (our PID 1 runs under it
 * and must still reap and forward), `inspect` (asked for vs live), a bad profile (refused before
 * anything starts, naming the file), and nsbox-runtime driven directly with an OCI bundle whose
 * `linux.seccomp` it must honour (and whose unknown flags it must refuse).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { ociConfig } from '../../ts/src/index.js';
import { keyValues } from '../helpers/lines.js';
import { needsRoot } from '../helpers/privileged.js';
import { RUNTIME } from '../lifecycle/helpers.js';
import { Box, hostDir, probe, PY, PY_PRELUDE, told } from './helpers.js';

/** Under --init: an orphan is reaped, a signal to PID 1 reaches the command, PID 1 is filtered. */
const INIT_PROBE = `${PY_PRELUDE}
import signal, time
def seccomp(pid):
    return [l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("Seccomp:")][0]
def zombies():
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if open(f"/proc/{p}/stat").read().rsplit(") ", 1)[1][0] == "Z": out.append(p)
            except OSError: pass
    return out
def on_term(s, f):
    say("forwarded", "yes")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
say("init_seccomp", seccomp(1))
child = os.fork()
if child == 0:
    if os.fork() == 0:
        time.sleep(0.2)
        os._exit(0)
    os._exit(0)
os.waitpid(child, 0)
for _ in range(100):
    if not zombies(): break
    time.sleep(0.05)
say("zombies", ",".join(zombies()) or "none")
os.kill(1, signal.SIGTERM)
time.sleep(30)
say("forwarded", "no")
`;

test('--init runs under the filter and still reaps orphans and forwards signals', async (t) => {
  if (!needsRoot(t)) return;
  const p = probe(hostDir(t), 'init.py', INIT_PROBE);
  const box = new Box(t);
  const r = await box.cli(['run', '--rm', '--init', '--', PY, p]);
  const kv = keyValues(r.stdout);
  t.is(r.code, 0, told(r));
  t.deepEqual([kv.init_seccomp, kv.zombies, kv.forwarded], ['2', 'none', 'yes'], told(r));
});

test('inspect shows the default filter, asked for and live', async (t) => {
  if (!needsRoot(t)) return;
  const box = new Box(t);
  const name = `sec-inspect-${process.pid}`;
  await box.detached(name, [], ['sleep', '600']);
  const r = await box.cli(['inspect', name]);
  t.is(r.code, 0, told(r));
  const [info] = JSON.parse(r.stdout) as Array<{ security: { seccomp: { mode: string; profile: string }; live: { seccomp: string } | null } }>;
  t.is(info?.security.seccomp.mode, 'filter', told(r));
  t.is(info?.security.seccomp.profile, 'default', told(r));
  t.is(info?.security.live?.seccomp, 'filter', told(r));
});

test('a bad profile (missing file, bad JSON, bad field) exits 125 naming the file', async (t) => {
  if (!needsRoot(t)) return;
  const dir = hostDir(t);
  const box = new Box(t);
  const badJson = path.join(dir, 'bad.json');
  writeFileSync(badJson, '{"defaultAction": ');
  const badField = path.join(dir, 'field.json');
  writeFileSync(badField, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getcwd'], action: 'SCMP_ACT_NOPE' }] }));
  for (const [file, what] of [[path.join(dir, 'missing.json'), 'ENOENT'], [badJson, 'ERR_INVALID_SPEC'], [badField, 'syscalls[0].action']] as const) {
    const r = await box.cli(['run', '--rm', '--security-opt', `seccomp=${file}`, '--', 'true']);
    t.is(r.code, 125, told(r));
    t.true(r.stderr.includes(file), `names ${file}: ${told(r)}`);
    t.true(r.stderr.includes(what), `says ${what}: ${told(r)}`);
  }
});

/** nsbox-runtime run --bundle B ID; its exit code and output. */
function runtimeRun(root: string, bundle: string, id: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(RUNTIME, ['--root', root, 'run', '--bundle', bundle, id], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('nsbox-runtime honours an OCI bundle\'s linux.seccomp and refuses an unknown flag', async (t) => {
  if (!needsRoot(t)) return;
  const dir = hostDir(t);
  const box = new Box(t);
  const p = probe(dir, 'cwd.py', `${PY_PRELUDE}\ntry_("getcwd", os.getcwd)\n`);
  const deny = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getcwd'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
  // A bundle on the host view (root.path is absolute) whose linux.seccomp is `seccomp`.
  const write = (name: string, seccomp: unknown): string => {
    const spec = ociConfig({ command: [PY, p], seccomp: 'unconfined' }) as unknown as { linux: Record<string, unknown> };
    spec.linux.seccomp = seccomp;
    const b = path.join(dir, name);
    mkdirSync(b);
    writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
    return b;
  };
  const r = await runtimeRun(box.root, write('deny', deny), `sec-oci-${process.pid}`);
  t.is(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  t.is(keyValues(r.stdout).getcwd, 'EPERM', r.stdout + r.stderr);
  const bogus = await runtimeRun(box.root, write('bogus', { ...deny, flags: ['SECCOMP_FILTER_FLAG_BOGUS'] }), `sec-oci2-${process.pid}`);
  t.is(bogus.code, 125, `exit ${bogus.code}: ${bogus.stderr}`);
  t.regex(bogus.stderr, /SECCOMP_FILTER_FLAG_BOGUS/, bogus.stderr);
});

/** A seccomp agent on the host: takes the listener from listenerPath, answers one getppid with 4242. */
const AGENT = `
import array, fcntl, json, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
c.settimeout(20)
fds = array.array("i")
data, anc, _, _ = c.recvmsg(1 << 16, socket.CMSG_SPACE(4 * fds.itemsize))
for level, kind, d in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(d[: len(d) - len(d) % fds.itemsize])
while True:
    more = c.recv(1 << 16)
    if not more:
        break
    data += more
notif = bytearray(80)  # struct seccomp_notif
fcntl.ioctl(fds[0], 0xC0502100, notif, True)  # SECCOMP_IOCTL_NOTIF_RECV
nid = struct.unpack_from("<Q", notif, 0)[0]
nr = struct.unpack_from("<i", notif, 16)[0]
fcntl.ioctl(fds[0], 0xC0182101, struct.pack("<QqiI", nid, 4242, 0, 0))  # SECCOMP_IOCTL_NOTIF_SEND
json.dump({"state": json.loads(data), "nr": nr}, open(out, "w"))
`;

test('nsbox-runtime hands a notify listener to listenerPath with the state, and the agent answers for the container', async (t) => {
  if (!needsRoot(t) || process.arch !== 'x64') return; // x86_64 ioctl layouts and syscall numbers
  const dir = hostDir(t);
  const box = new Box(t);
  const sock = path.join(dir, 'agent.sock');
  const out = path.join(dir, 'agent.json');
  const agentPy = path.join(dir, 'agent.py');
  writeFileSync(agentPy, AGENT);
  const agent = spawn(PY, [agentPy, sock, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => agent.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    agent.stdout!.once('data', () => resolve());
    agent.once('exit', (code) => reject(new Error(`the agent ended first (${code})`)));
  });
  const spec = ociConfig({ command: [PY, '-c', 'import os; print("ppid", os.getppid())'], seccomp: 'unconfined' }) as unknown as { linux: Record<string, unknown> };
  spec.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, listenerMetadata: 'nsbox-test', syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_NOTIFY' }] };
  const b = path.join(dir, 'notify');
  mkdirSync(b);
  writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
  const id = `sec-notify-${process.pid}`;
  const r = await runtimeRun(box.root, b, id);
  t.is(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  t.regex(r.stdout, /^ppid 4242$/m, 'the answer came from the agent, not the kernel');
  const got = JSON.parse(readFileSync(out, 'utf8')) as { nr: number; state: { metadata?: string; state?: { id?: string; pid?: number } } };
  t.is(got.nr, 110, 'the notification was for getppid (x86_64 110)');
  t.is(got.state.metadata, 'nsbox-test');
  t.is(got.state.state?.id, id);
});
