/** exec joins every namespace and the cgroups; logs rotate and follow; events; --rm. */
import { readFileSync, readlinkSync } from 'node:fs';

import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { fixture, leftovers, until } from './helpers.js';

test.serial('exec: same eight namespaces and cgroups as the container, its exit code, -u/-w/-e', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const c = await f.rt.run({ command: ['/bin/sleep', '1000'], rootfs: f.rootfs.root, namespaces: 'all', uidMap: [{ inside: 0, outside: 200000, length: 65536 }], gidMap: [{ inside: 0, outside: 200000, length: 65536 }] });
    const s = c.inspect();
    const p = c.exec(['/bin/sh', '-c', 'sleep 0.3; echo "$FOO $(pwd) $(id -u)"; exit 7'], { env: { FOO: 'bar' }, cwd: '/tmp', user: '1000:1000' });
    const pid = await p.pid;
    for (const kind of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts']) {
      t.is(readlinkSync(`/proc/${pid}/ns/${kind}`), readlinkSync(`/proc/${s.pid}/ns/${kind}`), kind);
    }
    t.is(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${s.pid}/cgroup`, 'utf8'));
    t.regex(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+201000\s/m, 'uid 1000 inside is 201000 on the host');
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    t.deepEqual(await p.wait(), { exitCode: 7, signal: null });
    t.is(out, 'bar /tmp 1000\n');
    await c.remove({ force: true });
  } finally {
    await f.dispose();
  }
});

test.serial('logs: JSON lines per stream, rotation at the configured size, follow ends at exit; events; --rm', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const events = f.rt.events({ past: true });
    const c = await f.rt.run({ command: ['/bin/sh', '-c', 'for i in $(seq 1 20000); do echo out$i; echo err$i >&2; done; sleep 0.2'], rootfs: f.rootfs.root, logMaxSize: 65536 });
    const seen: string[] = [];
    for await (const e of c.logs({ follow: true })) seen.push(`${e.stream}:${e.log}`);
    const stream = (name: string) => seen.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1)).join('');
    t.true(stream('stdout').endsWith('out20000\n'));
    t.true(stream('stderr').endsWith('err20000\n'));
    t.true(readFileSync(`${c.inspect().logPath}.1`).length <= 65536);
    t.is((await c.wait()).exitCode, 0);
    const r = await f.rt.run({ command: ['/bin/true'], rootfs: f.rootfs.root, rm: true });
    await until(() => f.rt.list({ all: true }).every((s) => s.id !== r.id), 3000, '--rm removal');
    await c.remove();
    const types: string[] = [];
    for await (const e of events) {
      types.push(`${e.id === c.id ? 'c' : 'r'}:${e.type}`);
      if (types.length === 8) break;
    }
    t.deepEqual(types.filter((x) => x.startsWith('c')), ['c:create', 'c:start', 'c:exit', 'c:remove']);
    t.deepEqual(types.filter((x) => x.startsWith('r')), ['r:create', 'r:start', 'r:exit', 'r:remove']);
    t.deepEqual(leftovers(f.root, []), []);
  } finally {
    await f.dispose();
  }
});
