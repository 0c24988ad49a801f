// S1 (two PID 1s that cannot see each other) and S10 (init: reaping, signal forwarding, exit codes).
import { randomBytes } from 'node:crypto';

import test from 'ava';
import { run, spawn } from 'nsbox';

import { statusField } from './helpers/host.js';
import { keyValues, Transcript } from './helpers/lines.js';
import { needsRoot } from './helpers/privileged.js';

const tag = () => `nsbox-tag-${randomBytes(6).toString('hex')}`;

test('S1: two containers at once each see their command as PID 1 and neither sees the other', async (t) => {
  if (!needsRoot(t)) return;
  // Each lists every process it can see, but only after the test let both run side by side.
  const script = 'echo pid=$$; read go; for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done; echo end';
  const tags = [tag(), tag()];
  const cs = tags.map((tg) => spawn({ command: ['/bin/sh', '-c', script, tg], stderr: 'inherit' }));
  const outs = cs.map((c) => new Transcript(c.stdout));
  const pids = await Promise.all(cs.map((c) => c.started));
  for (const o of outs) await o.until(/pid=\d+\n/);
  // Both alive now. Inside: each is PID 1. Outside: two different host pids, each PID 1 of its own namespace.
  for (const o of outs) t.is(keyValues(o.text).pid, '1');
  t.not(pids[0], pids[1]);
  for (const pid of pids) t.deepEqual(statusField(pid, 'NSpid'), [String(pid), '1']);
  for (const c of cs) c.stdin!.end('go\n');
  const statuses = await Promise.all(cs.map((c) => c.wait()));
  for (const [i, o] of outs.entries()) {
    t.is(statuses[i]!.exitCode, 0);
    await o.until(/end\n/);
    t.true(o.text.includes(tags[i]!), 'sees itself');
    t.false(o.text.includes(tags[1 - i]!), "does not see the other container's process");
  }
});

test('S10: with init, the command is not PID 1 and orphans are reaped', async (t) => {
  if (!needsRoot(t)) return;
  // The inner sh exits at once, orphaning `sleep 0`; it is re-parented to PID 1 (our init), which
  // must reap it. We wait (bounded) for its /proc entry to vanish: a zombie keeps it.
  const script = [
    'echo self=$$',
    'orphan=$(sh -c "sleep 0 >/dev/null 2>&1 & echo \\$!")',
    'i=0; while [ -e /proc/$orphan ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done',
    'if [ -e /proc/$orphan ]; then echo orphan=$(grep State /proc/$orphan/status); else echo orphan=reaped; fi',
  ].join('\n');
  const r = await run({ command: ['/bin/sh', '-c', script], init: true });
  const kv = keyValues(r.stdout ?? '');
  t.is(r.exitCode, 0, r.stderr);
  t.not(kv.self, '1', 'the command runs under our init');
  t.is(kv.orphan, 'reaped');
});

for (const [sig, code] of [['SIGTERM', 42], ['SIGINT', 43]] as const) {
  test(`S10: init forwards ${sig} to the command and exits with its status`, async (t) => {
    if (!needsRoot(t)) return;
    const short = sig.slice(3);
    const c = spawn({ command: ['/bin/sh', '-c', `trap "echo got=${short}; exit ${code}" ${short}; echo ready=1; while :; do sleep 0.1; done`], init: true, stderr: 'inherit' });
    const out = new Transcript(c.stdout);
    const pid = await c.started;
    await out.until(/ready=1\n/);
    t.deepEqual(statusField(pid, 'NSpid'), [String(pid), '1'], 'the host pid we signal is PID 1 inside');
    t.true(c.kill(sig));
    const status = await c.wait();
    t.is(status.exitCode, code);
    t.is(keyValues(out.text).got, short);
  });
}

test('S10: exit codes propagate (own code, 128+N after signal N, with and without init)', async (t) => {
  if (!needsRoot(t)) return;
  t.is((await run({ command: ['/bin/sh', '-c', 'exit 7'] })).exitCode, 7);
  t.is((await run({ command: ['/bin/sh', '-c', 'exit 7'], init: true })).exitCode, 7);
  t.is((await run({ command: ['/bin/sh', '-c', 'kill -KILL $$'], init: true })).exitCode, 137);
  const c = spawn({ command: ['/bin/sleep', '1000'], stdout: 'ignore', stderr: 'ignore', stdin: 'ignore' });
  await c.started;
  c.kill('SIGKILL');
  const s = await c.wait();
  t.is(s.exitCode, 137);
  t.is(s.signal, 'SIGKILL');
});

test('aborting kills the container and rejects with an AbortError', async (t) => {
  if (!needsRoot(t)) return;
  const ac = new AbortController();
  const c = spawn({ command: ['/bin/sleep', '1000'], signal: ac.signal, stdout: 'ignore', stderr: 'ignore', stdin: 'ignore' });
  const pid = await c.started;
  ac.abort();
  const e = await t.throwsAsync(c.wait(), { name: 'AbortError' });
  t.is((e as { code?: string }).code, 'ABORT_ERR');
  t.throws(() => statusField(pid, 'State'), undefined, 'the container process is gone');
});
