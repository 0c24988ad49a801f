/** `run -d -i`: the container's stdin stays open through its monitor; `attach` writes to it (docker's semantics). */
import { spawn } from 'node:child_process';

import test from 'ava';

import { cliArgv, REPO, runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { fixture, leftovers } from './helpers.js';

/** `nsbox attach REF` fed `input`; detached (killed) once `seen()` holds — its stdin ending does not close the container's. */
async function attachAndType(env: NodeJS.ProcessEnv, ref: string, input: string, seen: () => Promise<boolean>): Promise<void> {
  const [file, argv] = cliArgv(['attach', ref]);
  const child = spawn(file, argv, { env, cwd: REPO, stdio: ['pipe', 'ignore', 'inherit'] });
  const closed = new Promise((r) => child.on('close', r));
  child.stdin.end(input);
  const end = Date.now() + 20_000;
  while (!(await seen()) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await closed;
}

async function logText(c: { logs(): AsyncGenerator<{ log: string }> }): Promise<string> {
  let out = '';
  for await (const e of c.logs()) out += e.log;
  return out;
}

test.serial('run -d -i: attach writes to stdin, which stays open after the client leaves; without -i stdin is empty', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  const env = { ...process.env, NSBOX_ROOT: f.root };
  try {
    const r = await runCli(['run', '-d', '-i', '--name', 'cat', '--rootfs', f.rootfs.root, '--', '/bin/cat'], { env });
    t.is(r.code, 0, r.stderr);
    const c = f.rt.get('cat');
    t.true(c.inspect().stdinOpen);
    await attachAndType(env, 'cat', 'hello\n', async () => (await logText(c)) === 'hello\n');
    t.is(await logText(c), 'hello\n');
    t.is(c.inspect().status, 'running', 'the client went, stdin stays open');
    await attachAndType(env, 'cat', 'again\n', async () => (await logText(c)).endsWith('again\n'));
    t.is(await logText(c), 'hello\nagain\n');

    // The TS API too, and without -i: /dev/null, so cat ends at once.
    const ti = await f.rt.run({ command: ['/bin/sh', '-c', 'read line; echo "got $line"'], rootfs: f.rootfs.root, interactive: true });
    await attachAndType(env, ti.id, 'x\n', async () => ti.inspect().status === 'exited');
    t.is(await logText(ti), 'got x\n');
    const plain = await f.rt.run({ command: ['/bin/cat'], rootfs: f.rootfs.root });
    t.is((await plain.wait()).exitCode, 0);
    const states = [c.inspect(), ti.inspect(), plain.inspect()];
    for (const x of [c, ti, plain]) await x.remove({ force: true });
    t.deepEqual(leftovers(f.root, states), []);
  } finally {
    await f.dispose();
  }
});
