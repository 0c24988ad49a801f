/**
 * `nsbox start -a` (docker's): start a created container and stay for its output and exit code.
 * The connection that sends START already receives the output, so nothing written at once is lost.
 */
import test from 'ava';

import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { fixture, leftovers } from './helpers.js';

test.serial('start -a: all of the output from the first byte, stderr apart, the exit code; errors otherwise', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  const env = { ...process.env, NSBOX_ROOT: f.root };
  try {
    const c = await f.rt.create({ name: 'talker', command: ['/bin/sh', '-c', 'seq 1 3000; echo oops >&2; exit 3'], rootfs: f.rootfs.root });
    const r = await runCli(['start', '-a', 'talker'], { env });
    t.is(r.code, 3, r.stderr);
    t.is(r.stdout, `${Array.from({ length: 3000 }, (_, i) => i + 1).join('\n')}\n`, 'every line, from the first');
    t.is(r.stderr, 'oops\n');
    t.is(c.inspect().status, 'exited');

    // Only a created container starts (no restart of an exited one); a missing command is 127.
    const again = await runCli(['start', '-a', 'talker'], { env });
    t.is(again.code, 125);
    t.regex(again.stderr, /ERR_NOT_CREATED/);
    const missing = await f.rt.create({ name: 'missing', command: ['/bin/does-not-exist'], rootfs: f.rootfs.root });
    const r127 = await runCli(['start', '-a', 'missing'], { env });
    t.is(r127.code, 127);
    t.regex(r127.stderr, /ENOENT/);
    const two = await runCli(['start', '-a', 'talker', 'missing'], { env });
    t.is(two.code, 125);
    t.regex(two.stderr, /--attach/);

    const states = [c.inspect(), missing.inspect()];
    await c.remove();
    await missing.remove({ force: true });
    t.deepEqual(leftovers(f.root, states), []);
  } finally {
    await f.dispose();
  }
});
