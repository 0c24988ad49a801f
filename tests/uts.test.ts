// S9: own hostname and NIS domain name; changing them inside leaves the host alone.
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';

import test from 'ava';
import { run } from 'nsbox';

import { runCli } from './helpers/cli.js';
import { keyValues } from './helpers/lines.js';
import { needsRoot } from './helpers/privileged.js';

test('S9: hostname and domainname are set inside; `hostname x` inside does not change the host', async (t) => {
  if (!needsRoot(t)) return;
  const hostBefore = [hostname(), readFileSync('/proc/sys/kernel/domainname', 'utf8')];
  const script = 'echo h1=$(hostname); echo d=$(cat /proc/sys/kernel/domainname); hostname changed-inside && echo h2=$(hostname)';
  // sethostname needs CAP_SYS_ADMIN, which the host view only gets with --privileged (docs/security.md).
  const r = await run({ command: ['/bin/sh', '-c', script], hostname: 'box', domainname: 'example.test', privileged: true });
  t.is(r.exitCode, 0, r.stderr);
  const kv = keyValues(r.stdout ?? '');
  t.like(kv, { h1: 'box', d: 'example.test', h2: 'changed-inside' });
  t.deepEqual([hostname(), readFileSync('/proc/sys/kernel/domainname', 'utf8')], hostBefore);
});

test('S9 (CLI): nsbox run --hostname box -- hostname', async (t) => {
  if (!needsRoot(t)) return;
  const r = await runCli(['run', '--rm', '--hostname', 'box', '--', 'hostname']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'box\n');
  t.not(hostname(), 'box');
});
