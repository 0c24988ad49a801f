// The CLI end to end: the quick start, flags after COMMAND, exit codes, signals, `nsbox ns`.
import { spawn as spawnProcess } from 'node:child_process';

import test from 'ava';
import { namespaces, spawn } from 'nsbox';

import { cliArgv, runCli } from './helpers/cli.js';
import { Transcript } from './helpers/lines.js';
import { needsRoot } from './helpers/privileged.js';

test('quick start: hostname, PID 1 and the uid map', async (t) => {
  if (!needsRoot(t)) return;
  const r = await runCli(['run', '--rm', '--hostname', 'box', '--', '/bin/sh', '-c', 'hostname; echo $$; cat /proc/self/uid_map']);
  t.is(r.code, 0, r.stderr);
  const [host, pid, map] = r.stdout.split('\n');
  t.is(host, 'box');
  t.is(pid, '1');
  t.regex(map ?? '', /^\s*0\s+0\s+4294967295$/, 'root: no user namespace by default');
});

test('flags after COMMAND belong to it; the exit code is the command\'s', async (t) => {
  if (!needsRoot(t)) return;
  const r = await runCli(['run', '/bin/echo', '--hostname', '-v', 'x']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '--hostname -v x\n');
  t.is((await runCli(['run', '--', '/bin/sh', '-c', 'exit 3'])).code, 3);
  const e = await runCli(['run', '-e', 'FROM_CALLER', '-e', 'SET=1', '--', '/bin/sh', '-c', 'echo $FROM_CALLER-$SET'], { env: { ...process.env, FROM_CALLER: 'yes' } });
  t.is(e.stdout, 'yes-1\n');
});

test('stdin reaches the container only with -i', async (t) => {
  if (!needsRoot(t)) return;
  t.is((await runCli(['run', '-i', '--', '/bin/cat'], { input: 'hello\n' })).stdout, 'hello\n');
  t.is((await runCli(['run', '--', '/bin/cat'], { input: 'hello\n' })).stdout, '');
});

test('SIGTERM sent to the CLI reaches the command', async (t) => {
  if (!needsRoot(t)) return;
  const [file, argv] = cliArgv(['run', '--', '/bin/sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done']);
  const cli = spawnProcess(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = new Transcript(cli.stdout);
  const closed = new Promise<number | null>((resolve) => cli.on('close', (code) => resolve(code)));
  await out.until(/ready\n/);
  cli.kill('SIGTERM');
  t.is(await closed, 42);
  t.regex(out.text, /got-term/);
});

test('nsbox ns PID shows which namespaces a container has of its own', async (t) => {
  if (!needsRoot(t)) return;
  const c = spawn({ command: ['/bin/sh', '-c', 'read go'], namespaces: ['pid', 'uts', 'user'], stdout: 'ignore', stderr: 'inherit' });
  const pid = await c.started;
  try {
    const r = await runCli(['ns', String(pid), '--format', 'json']);
    t.is(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { namespaces: Array<{ kind: string; id: number; hostId: number; state: string }> };
    const isolated = report.namespaces.filter((n) => n.state === 'isolated').map((n) => n.kind);
    t.deepEqual(isolated, ['pid', 'user', 'uts']);
    const ids = await namespaces(pid);
    for (const n of report.namespaces) t.is(n.id, ids[n.kind as keyof typeof ids]);
    const table = await runCli(['ns', String(pid)]);
    t.regex(table.stdout, /^uts\s+\d+\s+\d+\s+isolated$/m);
    t.regex(table.stdout, /^net\s+\d+\s+\d+\s+shared$/m);
  } finally {
    c.stdin!.end('go\n');
    await c.wait();
  }
});

test('-i -t with a pipe for stdin is refused like docker does, instead of hanging', async (t) => {
  const r = await runCli(['run', '-i', '-t', '--', '/bin/cat'], { input: 'hello\n' });
  t.is(r.code, 125);
  t.regex(r.stderr, /^nsbox: --tty: ERR_INVALID_SPEC: the input device is not a TTY/m);
});
