/**
 * The defenses of issue #9 hold for an unprivileged caller too (as `nobody`): the seccomp filter and
 * no_new_privs are in force, the container's processes lead sessions of their own, and the runtime
 * that PID 1 runs with --init is a sealed in-memory copy (rootless cannot make the read-only bind,
 * so it falls back to memfd), never the file on disk. Devices rootless: devices.test.ts.
 */
import test from 'ava';

import { runCli } from '../helpers/cli.js';
import { AS_NOBODY, nobodyCannotRun } from '../helpers/nobody.js';
import { needsRoot } from '../helpers/privileged.js';
import { runtimePath } from 'nsbox';
import { PY } from './helpers.js';

// x86_64 syscall numbers (CI's architecture): keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING).
const KEYCTL = `${PY} -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); r = l.syscall(250, 0, -4, 0); print("keyctl", r, ctypes.get_errno())'`;

function asNobody(args: string[]) {
  const why = nobodyCannotRun();
  if (why) throw new Error(`cannot run the CLI as nobody from this checkout: ${why}`);
  return runCli(args, { prefix: AS_NOBODY, env: { ...process.env, HOME: '/nonexistent', XDG_RUNTIME_DIR: '', SECRET_OF_THE_CALLER: 'x' } });
}

test('rootless: the default filter and no_new_privs are in force, and keyctl is refused', async (t) => {
  if (!needsRoot(t)) return; // setpriv to nobody needs root
  const script = `grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; ${KEYCTL}; echo sid=$(cut -d' ' -f6 /proc/self/stat) pid=$$`;
  const r = await asNobody(['run', '--', '/bin/sh', '-c', script]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^Seccomp:\s+2$/m);
  t.regex(r.stdout, /^NoNewPrivs:\s+1$/m);
  t.regex(r.stdout, /^keyctl -1 1$/m, 'EPERM from the filter');
  const m = /sid=(\d+) pid=(\d+)/.exec(r.stdout);
  t.truthy(m, r.stdout);
  t.is(m![1], m![2], 'the container\'s first process leads a session of its own');
});

test('rootless --init: PID 1 runs a sealed in-memory copy of the runtime, not its file on disk', async (t) => {
  if (!needsRoot(t)) return;
  const r = await asNobody(['run', '--init', '--', '/bin/sh', '-c', 'readlink /proc/1/exe; grep -c SECRET_OF_THE_CALLER /proc/1/environ || true']);
  t.is(r.code, 0, r.stderr);
  const [exe, secrets] = r.stdout.trim().split('\n');
  t.regex(exe ?? '', /^\/memfd:/, `PID 1's executable: ${exe}`);
  t.not(exe, runtimePath());
  t.is(secrets, '0', 'the caller\'s environment is not PID 1\'s');
});
