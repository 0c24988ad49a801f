// S5: mounts made inside stay inside; pivot_root gives the container its own root.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';
import { run, spawn } from 'nsbox';

import { hostMountinfo } from './helpers/host.js';
import { keyValues, Transcript } from './helpers/lines.js';
import { needsRoot } from './helpers/privileged.js';
import { makeBusyboxRootfs } from './helpers/rootfs.js';

test('S5: a mount made inside never appears in the host\'s mountinfo', async (t) => {
  if (!needsRoot(t)) return;
  const tag = `nsbox-mnt-${randomBytes(6).toString('hex')}`;
  const script = `mkdir /tmp/${tag} && mount -t tmpfs ${tag} /tmp/${tag} && echo inside=$(grep -c ${tag} /proc/self/mountinfo); read go`;
  // mount needs CAP_SYS_ADMIN, which the read-only host view only gets with --privileged
  // (docs/security.md); the mount namespace isolates the mount all the same.
  const c = spawn({ command: ['/bin/sh', '-c', script], privileged: true, stderr: 'inherit' });
  const out = new Transcript(c.stdout);
  await out.until(/inside=\d+\n/);
  t.is(keyValues(out.text).inside, '1', 'the mount exists inside');
  t.false(hostMountinfo().includes(tag), 'while the container runs, the host does not see it');
  c.stdin!.end('go\n');
  t.is((await c.wait()).exitCode, 0);
  t.false(hostMountinfo().includes(tag));
});

test('S5: with --rootfs, pivot_root gives the container its own root, and the host sees none of its mounts', async (t) => {
  if (!needsRoot(t)) return;
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  const tag = randomBytes(6).toString('hex');
  writeFileSync(path.join(fs.root, 'etc', 'marker'), `${tag}\n`);
  const script = 'echo marker=$(cat /etc/marker); [ -e /work ] || [ -e /usr/lib ] && echo hostroot=visible || echo hostroot=hidden; echo root=$(awk \'$5=="/"{print $4}\' /proc/self/mountinfo); read go';
  const c = spawn({ command: ['/bin/sh', '-c', script], rootfs: fs.root, stderr: 'inherit' });
  const out = new Transcript(c.stdout);
  await out.until(/^root=.*\n/m); // not hostroot=…
  const kv = keyValues(out.text);
  t.is(kv.marker, tag);
  t.is(kv.hostroot, 'hidden');
  t.truthy(kv.root, 'a mount is the root inside');
  t.false(hostMountinfo().includes(fs.root), 'the host has no mount on or under the rootfs');
  c.stdin!.end('go\n');
  t.is((await c.wait()).exitCode, 0);
  t.false(hostMountinfo().includes(fs.root));
});

test('S5: volumes bind host directories, read-only when asked; file contents are shared, mounts are not', async (t) => {
  if (!needsRoot(t)) return;
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  const rw = path.join(fs.dir, 'rw');
  const ro = path.join(fs.dir, 'ro');
  mkdirSync(rw);
  mkdirSync(ro);
  writeFileSync(path.join(ro, 'f'), 'host\n');
  const r = await run({
    command: ['/bin/sh', '-c', 'echo inside > /rw/f; echo ro=$(cat /ro/f); echo x > /ro/f 2>/dev/null && echo write=ok || echo write=refused'],
    rootfs: fs.root, volumes: [{ source: rw, target: '/rw' }, { source: ro, target: '/ro', readOnly: true }],
  });
  t.is(r.exitCode, 0, r.stderr);
  const kv = keyValues(r.stdout ?? '');
  t.is(kv.ro, 'host');
  t.is(kv.write, 'refused');
  t.is(readFileSync(path.join(rw, 'f'), 'utf8'), 'inside\n', 'what the container wrote is on the host');
  t.is(readFileSync(path.join(ro, 'f'), 'utf8'), 'host\n');
});
