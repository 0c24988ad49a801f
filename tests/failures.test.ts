// Negative cases: each failure is a typed error naming the step or field, and leaves the host as it was.
import { randomBytes } from 'node:crypto';

import test from 'ava';
import {
  CommandNotExecutableError, CommandNotFoundError, InvalidSpecError, NotFoundError, NsboxError, run, spawn, type RunOptions,
} from 'nsbox';

import { cliInThrowawayHost } from './helpers/host.js';
import { needsRoot } from './helpers/privileged.js';

const missingDir = () => `/nonexistent-nsbox-${randomBytes(4).toString('hex')}`;

test('bad rootfs: NotFoundError naming the step and the path, exit code 125', async (t) => {
  if (!needsRoot(t)) return;
  const dir = missingDir();
  const e = await t.throwsAsync(run({ command: ['/bin/sh'], rootfs: dir }), { instanceOf: NotFoundError });
  t.is(e?.code, 'ENOENT');
  t.is(e?.path, dir);
  t.truthy(e?.op);
  t.is(e?.exitCode, 125);
});

test('missing command: CommandNotFoundError, exit code 127', async (t) => {
  if (!needsRoot(t)) return;
  const e = await t.throwsAsync(run({ command: ['/no/such/command'] }), { instanceOf: CommandNotFoundError });
  t.is(e?.exitCode, 127);
  t.is(e?.code, 'ENOENT');
  t.is(e?.path, '/no/such/command');
  const c = spawn({ command: ['no-such-command-on-path'] });
  await t.throwsAsync(c.started, { instanceOf: CommandNotFoundError }, 'started rejects too');
  await t.throwsAsync(c.wait(), { instanceOf: CommandNotFoundError });
});

test('non-executable command: CommandNotExecutableError, exit code 126', async (t) => {
  if (!needsRoot(t)) return;
  for (const cmd of ['/etc/passwd', '/etc']) {
    const e = await t.throwsAsync(run({ command: [cmd] }), { instanceOf: CommandNotExecutableError });
    t.is(e?.exitCode, 126, cmd);
  }
});

test('bad id maps: overlapping ranges are an InvalidSpecError naming uidMap; one the kernel refuses names the step', async (t) => {
  const overlap: RunOptions = { command: ['/bin/true'], uidMap: [{ inside: 0, outside: 100000, length: 10 }, { inside: 5, outside: 200000, length: 1 }] };
  const e = await t.throwsAsync(run(overlap), { instanceOf: InvalidSpecError });
  t.is(e?.field, 'uidMap');
  t.regex(e?.message ?? '', /overlap/);
  if (!needsRoot(t)) return;
  // (uid_t)-1 is never a valid id: the kernel rejects the map write itself.
  const k = await t.throwsAsync(run({ command: ['/bin/true'], uidMap: [{ inside: 0, outside: 4294967295, length: 1 }] }), { instanceOf: NsboxError });
  t.is(k?.exitCode, 125);
  t.regex(k?.op ?? '', /uid_map|uid map|newuidmap/, `op: ${k?.op}`);
});

test('unknown namespace name: InvalidSpecError naming namespaces', async (t) => {
  const e = await t.throwsAsync(run({ command: ['/bin/true'], namespaces: ['pid', 'bogus' as 'pid'] }), { instanceOf: InvalidSpecError });
  t.is(e?.field, 'namespaces');
  t.regex(e?.message ?? '', /bogus/);
});

const cliFailures: Array<[string, string[], number, RegExp]> = [
  ['bad rootfs', ['--rootfs', missingDir(), '--', '/bin/sh'], 125, /^nsbox: \S+\(\/nonexistent-nsbox-[0-9a-f]+\): ENOENT: /],
  ['missing command', ['--', '/no/such/command'], 127, /^nsbox: execve\(\/no\/such\/command\): ENOENT: /],
  ['non-executable command', ['--', '/etc/passwd'], 126, /^nsbox: execve\(\/etc\/passwd\): EACCES: /],
  ['bad id map', ['--uidmap', '0:4294967295:1', '--', '/bin/true'], 125, /^nsbox: .*uid.?map.*: E[A-Z]+: /],
  ['unknown namespace', ['--ns', 'pid,bogus', '--', '/bin/true'], 125, /^nsbox: namespaces: ERR_INVALID_SPEC: unknown namespace "bogus"/],
];

for (const [label, args, code, message] of cliFailures) {
  test(`CLI, ${label}: exit ${code}, a clear message, and the host's mountinfo and /run unchanged`, (t) => {
    if (!needsRoot(t)) return;
    const r = cliInThrowawayHost(['run', ...args]);
    t.is(r.code, code, r.stderr);
    t.regex(r.stderr, message);
    t.is(r.after, r.before, 'mountinfo and /run are exactly as before');
  });
}
