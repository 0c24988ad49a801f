// S6: a network namespace has its own routes and ports (bridges and veths are the networking work's).
import { execFileSync } from 'node:child_process';

import test from 'ava';
import { spawn } from 'nsbox';

import { keyValues, Transcript } from './helpers/lines.js';
import { needsRoot } from './helpers/privileged.js';
import { makeBusyboxRootfs } from './helpers/rootfs.js';

test('S6: a route added inside is not in the host\'s table', async (t) => {
  if (!needsRoot(t)) return;
  const script = 'ip link set lo up && ip route add 10.123.45.0/24 dev lo && echo route="$(ip route | grep 10.123.45)"; read go';
  const c = spawn({ command: ['/bin/sh', '-c', script], capAdd: ['NET_ADMIN'], stderr: 'inherit' });
  const out = new Transcript(c.stdout);
  await out.until(/route=.*\n/);
  t.regex(keyValues(out.text).route ?? '', /^10\.123\.45\.0\/24 dev lo/);
  t.false(execFileSync('ip', ['route'], { encoding: 'utf8' }).includes('10.123.45.'), 'the host has no such route');
  c.stdin!.end('go\n');
  t.is((await c.wait()).exitCode, 0);
});

test('S6: two containers listen on the same port at once', async (t) => {
  if (!needsRoot(t)) return;
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  // Poll (bounded) until our own listener shows up, then hold it while the other one does the same.
  const script = [
    'nc -l -p 8080 >/dev/null 2>&1 &',
    'i=0; until netstat -ltn | grep -q ":8080 "; do i=$((i+1)); [ $i -gt 200 ] && break; sleep 0.05; done',
    'echo listening=$(netstat -ltn | grep -c ":8080 ")',
    'read go',
  ].join('\n');
  const cs = [0, 1].map(() => spawn({ command: ['/bin/sh', '-c', script], rootfs: fs.root, stderr: 'inherit' }));
  const outs = cs.map((c) => new Transcript(c.stdout));
  await Promise.all(outs.map((o) => o.until(/listening=\d+\n/)));
  for (const o of outs) t.is(keyValues(o.text).listening, '1');
  for (const c of cs) c.stdin!.end('go\n');
  for (const c of cs) t.is((await c.wait()).exitCode, 0);
});
