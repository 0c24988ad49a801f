/** Bad input gets a clear error and docker's exit code (125), from the TS API and the CLI. */
import test from 'ava';

import { BadSignalError, ContainerNotFoundError, ContainerStateError, NameInUseError } from '../../ts/src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { fixture } from './helpers.js';

test.serial('unknown container, name taken, exec into a stopped container, bad signal', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  const env = { ...process.env, NSBOX_ROOT: f.root };
  try {
    t.throws(() => f.rt.get('nosuch'), { instanceOf: ContainerNotFoundError, message: /no such container: nosuch/ });
    for (const cmd of [['logs', 'nosuch'], ['exec', 'nosuch', 'true'], ['rm', '-f', 'nosuch'], ['stop', 'nosuch'], ['inspect', 'nosuch']]) {
      const r = await runCli(cmd, { env });
      t.is(r.code, 125, cmd.join(' '));
      t.regex(r.stderr, /no such container: nosuch/);
    }
    const c = await f.rt.run({ command: ['/bin/sleep', '1000'], rootfs: f.rootfs.root, name: 'taken' });
    await t.throwsAsync(f.rt.run({ command: ['/bin/true'], rootfs: f.rootfs.root, name: 'taken' }), { instanceOf: NameInUseError, message: /"taken" is already in use/ });
    const dup = await runCli(['run', '-d', '--name', 'taken', '--rootfs', f.rootfs.root, '--', '/bin/true'], { env });
    t.is(dup.code, 125);
    t.regex(dup.stderr, /already in use/);
    await t.throwsAsync(c.kill('SIGBOGUS'), { instanceOf: BadSignalError, message: /invalid signal: SIGBOGUS/ });
    const bad = await runCli(['kill', '-s', 'NOPE', 'taken'], { env });
    t.is(bad.code, 125);
    t.regex(bad.stderr, /invalid signal: NOPE/);
    const rmRunning = await runCli(['rm', 'taken'], { env });
    t.is(rmRunning.code, 125);
    t.regex(rmRunning.stderr, /is running: stop it first or use --force/);
    const notFound = await runCli(['exec', 'taken', 'nosuchcmd'], { env });
    t.is(notFound.code, 127);
    t.deepEqual(await c.stop({ timeout: 0.2 }), { exitCode: 137, signal: 'SIGKILL' });
    await t.throwsAsync(c.exec(['/bin/true']).wait(), { instanceOf: ContainerStateError, message: /is not running/ });
    const r = await runCli(['exec', 'taken', 'true'], { env });
    t.is(r.code, 125);
    t.regex(r.stderr, /container taken is not running/);
    await t.throwsAsync(c.kill('TERM'), { instanceOf: ContainerStateError });
    await c.remove();
  } finally {
    await f.dispose();
  }
});
