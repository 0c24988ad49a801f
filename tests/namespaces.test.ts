// S2 (each of the eight namespaces alone, and combinations) and S3 (cgroup namespace view).
import { readFileSync } from 'node:fs';

import test from 'ava';
import { NAMESPACE_KINDS, namespaces, spawn, type NamespaceIds, type NamespaceKind } from 'nsbox';

import { keyValues, Transcript } from './helpers/lines.js';
import { needsRoot } from './helpers/privileged.js';

// Prints the ids the container sees for itself, then waits so the host can look at it too.
const PROBE = `for k in ${NAMESPACE_KINDS.join(' ')}; do echo $k=$(readlink /proc/self/ns/$k); done; echo done=1; read go`;

async function inAndOut(kinds: NamespaceKind[]): Promise<{ inside: NamespaceIds; outside: NamespaceIds; exitCode: number }> {
  const c = spawn({ command: ['/bin/sh', '-c', PROBE], namespaces: kinds, stderr: 'inherit' });
  const out = new Transcript(c.stdout);
  const pid = await c.started;
  await out.until(/done=1\n/);
  const outside = await namespaces(pid);
  c.stdin!.end('go\n');
  const { exitCode } = await c.wait();
  const kv = keyValues(out.text);
  const inside = {} as NamespaceIds;
  for (const k of NAMESPACE_KINDS) inside[k] = Number(/\[(\d+)\]/.exec(kv[k] ?? '')?.[1]);
  return { inside, outside, exitCode };
}

const combos: Array<[string, NamespaceKind[]]> = [
  ...NAMESPACE_KINDS.map((k): [string, NamespaceKind[]] => [k, [k]]),
  ['uts+pid+user', ['uts', 'pid', 'user']],
  ['all eight', [...NAMESPACE_KINDS]],
];

for (const [label, kinds] of combos) {
  test(`S2: ${label}: exactly the requested namespaces differ from the host's, inside and out`, async (t) => {
    if (!needsRoot(t)) return;
    const host = await namespaces();
    const { inside, outside, exitCode } = await inAndOut(kinds);
    t.is(exitCode, 0);
    const differs = (ids: NamespaceIds) => NAMESPACE_KINDS.filter((k) => ids[k] !== host[k]);
    t.deepEqual(differs(inside), [...kinds].sort(), 'as /proc/self/ns inside shows');
    t.deepEqual(differs(outside), [...kinds].sort(), 'as /proc/PID/ns on the host shows');
    t.deepEqual(inside, outside, 'both views agree');
  });
}

test('S3: with a cgroup namespace, the container sees its own cgroup as /', async (t) => {
  if (!needsRoot(t)) return;
  // The defaults include cgroup (and net: see the S2 mnt-alone test for sysfs without one).
  const c = spawn({ command: ['/bin/sh', '-c', 'cat /proc/self/cgroup; echo done=1; read go'], stderr: 'inherit' });
  const out = new Transcript(c.stdout);
  const pid = await c.started;
  await out.until(/done=1\n/);
  const hostView = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  c.stdin!.end('go\n');
  t.is((await c.wait()).exitCode, 0);
  const inside = out.text.split('\n').filter((l) => /^\d+:/.test(l));
  t.true(inside.length > 0);
  for (const line of inside) t.regex(line, /:\/$/, `inside: ${line}`);
  t.log(`host's view of the same process:\n${hostView}`);
  // Each hierarchy's line exists in both views; the path inside is relative to the namespace's root.
  t.is(hostView.trim().split('\n').length, inside.length);
});
