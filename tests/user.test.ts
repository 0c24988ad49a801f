// S7 (id maps written as given, ownership seen through them) and S8 (nobody becomes root inside).
import { randomBytes } from 'node:crypto';
import { spawn as spawnProcess } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';
import { run, spawn, type NamespaceKind } from 'nsbox';

import { cliArgv } from './helpers/cli.js';
import { parseIdMap, pidsWithArg, statusField } from './helpers/host.js';
import { keyValues, Transcript } from './helpers/lines.js';
import { AS_NOBODY, NOBODY, nobodyCannotRun } from './helpers/nobody.js';
import { needsRoot } from './helpers/privileged.js';
import { makeBusyboxRootfs } from './helpers/rootfs.js';

test('S7: multi-range maps read back exactly, inside and on the host, and file ownership follows them', async (t) => {
  if (!needsRoot(t)) return;
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  const data = path.join(fs.dir, 'data');
  mkdirSync(data);
  chownSync(data, 100000, 100000); // root inside may write here
  writeFileSync(path.join(data, 'second-range'), '');
  chownSync(path.join(data, 'second-range'), 300005, 100007); // uid 1005 and gid 7 inside
  writeFileSync(path.join(data, 'unmapped'), ''); // host root: outside every range
  const uidMap = [{ inside: 0, outside: 100000, length: 1000 }, { inside: 1000, outside: 300000, length: 1000 }];
  const gidMap = [{ inside: 0, outside: 100000, length: 65536 }];
  const script = 'echo uid_map=$(tr -s " " < /proc/self/uid_map | tr "\\n" ";"); stat -c "%n=%u:%g" /data/second-range /data/unmapped; touch /data/made-inside; echo done=1; read go';
  // Every namespace but time: a mapped user namespace with a time namespace is its own test below.
  const namespaces: NamespaceKind[] = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'];
  const c = spawn({ command: ['/bin/sh', '-c', script], rootfs: fs.root, namespaces, uidMap, gidMap, volumes: [{ source: data, target: '/data' }], stderr: 'inherit' });
  const out = new Transcript(c.stdout);
  const pid = await c.started;
  await out.until(/done=1\n/);
  const kv = keyValues(out.text);
  const asTriples = (m: typeof uidMap) => m.map((r) => [r.inside, r.outside, r.length]);
  t.deepEqual(parseIdMap(readFileSync(`/proc/${pid}/uid_map`, 'utf8')), asTriples(uidMap), 'host view of uid_map');
  t.deepEqual(parseIdMap(readFileSync(`/proc/${pid}/gid_map`, 'utf8')), asTriples(gidMap), 'host view of gid_map');
  t.deepEqual(parseIdMap((kv.uid_map ?? '').split(';').join('\n')), asTriples(uidMap), 'inside view');
  t.is(kv['/data/second-range'], '1005:7', 'host 300005:100007 is 1005:7 inside');
  t.is(kv['/data/unmapped'], '65534:65534', 'unmapped ids show as the overflow id');
  t.deepEqual(statusField(pid, 'Uid'), ['100000', '100000', '100000', '100000'], 'root inside is 100000 on the host');
  c.stdin!.end('go\n');
  t.is((await c.wait()).exitCode, 0);
  const made = statSync(path.join(data, 'made-inside'));
  t.deepEqual([made.uid, made.gid], [100000, 100000], 'a file root made inside belongs to 100000 on the host');
});

test('S7: as root, a uid map to other host ids works with the default namespaces (time included)', async (t) => {
  if (!needsRoot(t)) return;
  const map = [{ inside: 0, outside: 100000, length: 65536 }];
  const r = await run({ command: ['/bin/sh', '-c', 'id -u; cat /proc/self/timens_offsets'], uidMap: map, gidMap: map, boottimeOffset: 60 });
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout ?? '', /^0\n/);
  t.regex(r.stdout ?? '', /boottime\s+60\s+0/);
});

test('S8: as nobody with --map-root-user, id -u is 0 inside while the host sees 65534', async (t) => {
  if (!needsRoot(t)) return; // setpriv to nobody needs root
  const why = nobodyCannotRun();
  if (why) return t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
  const tag = `nsbox-s8-${randomBytes(6).toString('hex')}`;
  const script = 'echo uid=$(id -u); echo map=$(cat /proc/self/uid_map | tr -s " "); echo ready=1; read go';
  const [file, argv] = cliArgv(['run', '--map-root-user', '-i', '--', '/bin/sh', '-c', script, tag], AS_NOBODY);
  const cli = spawnProcess(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new Transcript(cli.stdout);
  const err = new Transcript(cli.stderr);
  const exited = new Promise<number | null>((resolve) => cli.on('close', (code) => resolve(code)));
  try {
    await Promise.race([out.until(/ready=1\n/), exited.then(() => { throw new Error(`CLI exited early: ${err.text}`); })]);
  } catch (e) {
    return t.fail(String(e));
  }
  const kv = keyValues(out.text);
  t.is(kv.uid, '0', 'root inside');
  t.is(kv.map?.trim(), `0 ${NOBODY} 1`);
  const shells = pidsWithArg(tag).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('/bin/sh\0'));
  t.is(shells.length, 1, 'found the container process on the host');
  t.deepEqual(statusField(shells[0]!, 'Uid'), Array(4).fill(String(NOBODY)), 'the host sees nobody');
  cli.stdin.end('go\n');
  t.is(await exited, 0, err.text);
});
