/**
 * Issue #9, class 5: a default seccomp filter with docker's default profile's semantics. In a default
 * container (root, host view) a probe calls, through libc's syscall(), what most container escapes of
 * recent years start from; refused means the errno docker's profile gives: EPERM (ENOSYS for clone3,
 * so that libc falls back to clone). Harmless: every call has arguments that change nothing or only
 * the probe itself (a process keyring, its own personality, a forked child's user namespace).
 * `--security-opt seccomp=unconfined` lifts the filter; `seccomp=PROFILE.json` (docker's format)
 * replaces it. Each container has a session keyring of its own, not the caller's.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { writeFileSync } from 'node:fs';

import test from 'ava';

import { keyValues } from '../helpers/lines.js';
import { needsRoot } from '../helpers/privileged.js';
import { Box, hostDir, probe, PY, PY_PRELUDE, told } from './helpers.js';

const PROBE = `${PY_PRELUDE}
import ctypes, platform, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {
    "x86_64": dict(keyctl=250, add_key=248, unshare=272, io_uring_setup=425, userfaultfd=323, perf_event_open=298, bpf=321, personality=135, clone3=435),
    "aarch64": dict(keyctl=219, add_key=217, unshare=97, io_uring_setup=425, userfaultfd=282, perf_event_open=241, bpf=280, personality=92, clone3=435),
}[platform.machine()]
def sc(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR[name]), *[a if isinstance(a, ctypes.c_char_p) else ctypes.c_long(a) for a in args])
    e = ctypes.get_errno()
    return (r, "ok" if r >= 0 else errno.errorcode.get(e, str(e)))
def check(label, name, *args):
    say(label, sc(name, *args)[1])
KEY_SPEC_SESSION, KEY_SPEC_USER, KEY_SPEC_PROCESS = -3, -4, -2
check("keyctl_user", "keyctl", 0, KEY_SPEC_USER, 0)
r, e = sc("keyctl", 0, KEY_SPEC_SESSION, 0)
say("session_keyring", r if e == "ok" else e)
check("add_key", "add_key", ctypes.c_char_p(b"user"), ctypes.c_char_p(b"nsbox-sec"), ctypes.c_char_p(b"x"), 1, KEY_SPEC_PROCESS)
check("io_uring_setup", "io_uring_setup", 1, 0)
check("userfaultfd", "userfaultfd", 0)
check("perf_event_open", "perf_event_open", 0, 0, -1, -1, 0)
check("bpf", "bpf", 0, 0, 0)
check("clone3", "clone3", 0, 0)
check("personality_query", "personality", 0xffffffff)
check("personality_linux", "personality", 0)
check("personality_no_randomize", "personality", 0x0040000)
sc("personality", 0)
try:
    socket.socket(40, socket.SOCK_STREAM).close()
    say("socket_vsock", "ok")
except OSError as e:
    say("socket_vsock", err(e))
pid = os.fork()
if pid == 0:
    os._exit(0 if sc("unshare", 0x10000000)[1] == "ok" else 1)
say("unshare_user", "ok" if os.waitpid(pid, 0)[1] == 0 else "refused")
try_("getcwd", os.getcwd)
say("seccomp_mode", [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0])
`;

/** What docker's default profile answers. */
const REFUSED: Record<string, string> = {
  keyctl_user: 'EPERM', add_key: 'EPERM', io_uring_setup: 'EPERM', userfaultfd: 'EPERM', perf_event_open: 'EPERM',
  bpf: 'EPERM', clone3: 'ENOSYS', personality_no_randomize: 'EPERM', socket_vsock: 'EPERM', unshare_user: 'refused',
  personality_query: 'ok', personality_linux: 'ok', getcwd: 'ok', seccomp_mode: '2',
};

/** The caller's own session keyring serial (what a container must not share). */
function hostSessionKeyring(): string {
  const code = 'import ctypes, platform; l = ctypes.CDLL(None); l.syscall.restype = ctypes.c_long; '
    + 'print(l.syscall({"x86_64": 250, "aarch64": 219}[platform.machine()], 0, -3, 0))';
  return execFileSync(PY, ['-c', code], { encoding: 'utf8' }).trim();
}

test('default container: keyctl, add_key, unshare -U, io_uring, userfaultfd, perf, bpf, personality, AF_VSOCK, clone3 refused', async (t) => {
  if (!needsRoot(t)) return;
  const dir = hostDir(t);
  const p = probe(dir, 'probe.py', PROBE);
  const box = new Box(t);
  const r = await box.cli(['run', '--rm', '--', PY, p]);
  t.is(r.code, 0, told(r));
  const kv = keyValues(r.stdout);
  t.log(r.stdout.replace(/\n/g, ' '));
  const wrong = Object.entries(REFUSED).filter(([k, want]) => kv[k] !== want).map(([k, want]) => `${k}: ${kv[k]} (docker's profile: ${want})`);
  // Whatever the filter answers, a keyring the container can see is not the caller's.
  const host = hostSessionKeyring();
  if (kv.session_keyring === host) wrong.push(`session keyring ${host} is the caller's own`);
  t.deepEqual(wrong, [], wrong.join('\n'));
  const u = await box.cli(['run', '--rm', '--', 'unshare', '-U', 'true']);
  t.not(u.code, 0, `unshare -U works inside: ${told(u)}`);
});

test('exec gets the filter too', async (t) => {
  if (!needsRoot(t)) return;
  const dir = hostDir(t);
  const p = probe(dir, 'probe.py', PROBE);
  const box = new Box(t);
  const name = `sec-seccomp-${process.pid}`;
  await box.detached(name, [], ['sleep', '600']);
  const r = await box.cli(['exec', name, PY, p]);
  const kv = keyValues(r.stdout);
  t.is(r.code, 0, told(r));
  t.is(kv.seccomp_mode, '2', told(r));
  t.is(kv.keyctl_user, 'EPERM', told(r));
  t.is(kv.unshare_user, 'refused', told(r));
});

test('--security-opt seccomp=unconfined lets keyctl through; the container has a session keyring of its own', async (t) => {
  if (!needsRoot(t)) return;
  const dir = hostDir(t);
  const p = probe(dir, 'probe.py', PROBE);
  const box = new Box(t);
  const r = await box.cli(['run', '--rm', '--security-opt', 'seccomp=unconfined', '--', PY, p]);
  t.is(r.code, 0, told(r));
  const kv = keyValues(r.stdout);
  t.is(kv.keyctl_user, 'ok', told(r));
  t.is(kv.seccomp_mode, '0', told(r));
  t.regex(kv.session_keyring ?? '', /^\d+$/, told(r));
  t.not(kv.session_keyring, hostSessionKeyring(), 'the session keyring is the caller\'s');
});

test('--security-opt seccomp=PROFILE.json (docker\'s format) replaces the default', async (t) => {
  if (!needsRoot(t)) return;
  const dir = hostDir(t);
  const p = probe(dir, 'probe.py', PROBE);
  const profile = path.join(dir, 'profile.json');
  writeFileSync(profile, JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64'],
    syscalls: [{ names: ['getcwd'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  }));
  const box = new Box(t);
  const r = await box.cli(['run', '--rm', '--security-opt', `seccomp=${profile}`, '--', PY, p]);
  t.is(r.code, 0, told(r));
  const kv = keyValues(r.stdout);
  t.is(kv.getcwd, 'EPERM', `the profile's rule: ${told(r)}`);
  t.is(kv.keyctl_user, 'ok', `the profile, not the default filter: ${told(r)}`);
});
