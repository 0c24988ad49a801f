// The networking extension point: hooks run between `created` and `start`, and are torn down after exit.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';
import { namespaces, registerStartHook, run, TeardownError, type StartHookContext } from 'nsbox';

import { needsRoot } from './helpers/privileged.js';

// Hooks are process-wide, so these tests run one after another. Registering under the name 'network'
// replaces the networking work's own hook in this test process: here we test the mechanism alone.
test.serial('a hook sees the container before its command runs, and is torn down after it exits', async (t) => {
  if (!needsRoot(t)) return;
  const events: string[] = [];
  let seen: { ctx: StartHookContext; netIsolated: boolean } | undefined;
  const host = await namespaces();
  const unregister = registerStartHook('network', async (ctx) => {
    events.push('hook');
    seen = { ctx, netIsolated: (await namespaces(ctx.pid)).net !== host.net };
    return { teardown: async () => void events.push('teardown') };
  });
  try {
    const r = await run({ command: ['/bin/sh', '-c', 'echo ran'], network: 'testnet' });
    events.push('exited');
    t.is(r.exitCode, 0, r.stderr);
    t.is(r.stdout, 'ran\n');
    t.deepEqual(events, ['hook', 'teardown', 'exited']);
    t.true(seen?.netIsolated, 'the hook can reach the container\'s own net namespace through its pid');
    t.regex(seen?.ctx.id ?? '', /^[0-9a-f]{64}$/);
    t.is(seen?.ctx.options.network, 'testnet');
    t.is(seen?.ctx.spec.annotations?.['org.nsbox.wait-start'], 'true');
  } finally {
    unregister();
  }
});

test.serial('a failing hook stops the command from ever running; the failure is what wait() reports', async (t) => {
  if (!needsRoot(t)) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-hook-'));
  const unregister = registerStartHook('network', async () => {
    throw new Error('no such network: testnet');
  });
  try {
    const e = await t.throwsAsync(run({ command: ['/bin/sh', '-c', 'touch /mnt/ran'], network: 'testnet', volumes: [{ source: dir, target: '/mnt' }] }));
    t.regex(e?.message ?? '', /no such network/);
    t.false(existsSync(path.join(dir, 'ran')), 'the command never ran');
  } finally {
    unregister();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('teardown failures are collected and reported after every teardown ran', async (t) => {
  if (!needsRoot(t)) return;
  const torn: string[] = [];
  const offs = ['network', 'second'].map((name) => registerStartHook(name, async () => ({
    teardown: async () => {
      torn.push(name);
      throw new Error(`teardown ${name} failed`);
    },
  })));
  try {
    const e = await t.throwsAsync(run({ command: ['/bin/true'], network: 'testnet' }), { instanceOf: TeardownError });
    t.is(e?.errors.length, 2);
    t.deepEqual(torn, ['second', 'network'], 'in reverse order, the second despite the first failing');
  } finally {
    for (const off of offs) off();
  }
});
