/**
 * Issue #9, device rules through the OCI door: `nsbox-runtime run --bundle` honours a config's
 * `linux.resources.devices` (in the v1 devices cgroup and the cgroup2 program both, on a hybrid
 * host) and creates its `linux.devices` nodes with their mode and owner; rules that cannot be
 * enforced (no cgroup: rootless) refuse the start instead of being dropped.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { ociConfig } from '../../ts/src/index.js';
import { keyValues } from '../helpers/lines.js';
import { AS_NOBODY, NOBODY } from '../helpers/nobody.js';
import { needsRoot } from '../helpers/privileged.js';
import { makeBusyboxRootfs, type Rootfs } from '../helpers/rootfs.js';
import { RUNTIME } from '../lifecycle/helpers.js';

const EPERM = 'Operation not permitted';

function loopDevice(t: ExecutionContext): { dev: string; major: number; minor: number; marker: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-dev-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const marker = `nsbox-marker-${randomBytes(4).toString('hex')}`;
  const bytes = Buffer.alloc(1 << 20);
  bytes.write(marker);
  writeFileSync(path.join(dir, 'disk.img'), bytes);
  const dev = execFileSync('losetup', ['-f', '--show', path.join(dir, 'disk.img')], { encoding: 'utf8' }).trim();
  t.teardown(() => execFileSync('losetup', ['-d', dev]));
  const [major, minor] = execFileSync('stat', ['-c', '%Hr %Lr', dev], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { dev, major: major!, minor: minor!, marker };
}

type Config = ReturnType<typeof ociConfig> & { linux: Record<string, unknown> };

function bundle(t: ExecutionContext, script: string, edit: (c: Config) => void, extra: Parameters<typeof ociConfig>[0] | object = {}): Rootfs {
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  const config = ociConfig({ command: ['/bin/sh', '-c', script], rootfs: fs.root, ...extra }) as Config;
  edit(config);
  writeFileSync(path.join(fs.dir, 'config.json'), JSON.stringify(config));
  return fs;
}

function stateRoot(t: ExecutionContext, owner?: number): string {
  const root = mkdtempSync(path.join(tmpdir(), 'nsbox-oci-root-'));
  if (owner !== undefined) chownSync(root, owner, owner);
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

test.serial('a config that denies all and adds a node: the node exists as asked and is usable only as the rules say', async (t) => {
  if (!needsRoot(t)) return;
  const lo = loopDevice(t);
  const script = [
    'echo "node=$(stat -c "%A %u %g %t:%T" /dev/xvdc)"',
    'echo "read=$(head -c 21 /dev/xvdc 2>&1)"',
    'echo "write=$(dd if=/dev/zero of=/dev/xvdc bs=512 count=0 conv=notrunc 2>&1 && echo ok)"',
    `echo "mknod=$(mknod /dev/other b ${lo.major} ${lo.minor + 1} 2>&1 && echo ok)"`,
    'echo "null=$(echo x > /dev/null && echo ok)"',
    'echo "fifo=$(stat -c "%F %a" /opt/sub/fifo)"',
  ].join('\n');
  const fs = bundle(t, script, (c) => {
    c.linux.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: lo.major, minor: lo.minor, access: 'r' }] };
    c.linux.devices = [
      { path: '/dev/xvdc', type: 'b', major: lo.major, minor: lo.minor, fileMode: 0o640, uid: 1000, gid: 6 },
      { path: '/opt/sub/fifo', type: 'p', major: 0, minor: 0, fileMode: 0o600 },
    ];
  });
  const root = stateRoot(t);
  const id = `oci-dev-${randomBytes(3).toString('hex')}`;
  const r = spawnSync(RUNTIME, ['--root', root, 'run', '--bundle', fs.dir, id], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const kv = keyValues(r.stdout);
  t.is(kv.node, `brw-r----- 1000 6 ${lo.major.toString(16)}:${lo.minor.toString(16)}`);
  t.is(kv.read, lo.marker, 'allowed: b MAJ:MIN r');
  t.regex(kv.write ?? '', new RegExp(EPERM), 'not allowed: w');
  t.regex(kv.mknod ?? '', new RegExp(EPERM), 'not allowed: m of another node (no b *:* m in this config)');
  t.is(kv.null, 'ok', 'the runtime keeps its own standard nodes usable, as runc');
  t.is(kv.fifo, 'fifo 600', 'linux.devices may put a node anywhere in the root');
  spawnSync(RUNTIME, ['--root', root, 'delete', '--force', id]);
});

test.serial('rootless: a config with device rules is refused (no cgroup to enforce them in), and leaves nothing', async (t) => {
  if (!needsRoot(t)) return; // setpriv to nobody needs root
  const map = [{ inside: 0, outside: NOBODY, length: 1 }];
  const fs = bundle(t, 'echo ran', () => {}, { uidMap: map, gidMap: map });
  const root = stateRoot(t, NOBODY);
  const [file, ...pre] = AS_NOBODY;
  const r = spawnSync(file!, [...pre, RUNTIME, '--root', root, 'run', '--bundle', fs.dir, 'rootless-dev'], { encoding: 'utf8' });
  t.is(r.status, 125, `${r.stdout}\n${r.stderr}`);
  t.notRegex(r.stdout, /ran/);
  t.regex(r.stderr, /apply linux\.resources\.devices: ERR_RUNTIME: the config has device rules, but no cgroup could be created/);
  t.deepEqual(readdirSync(root).filter((n) => n !== 'names' && n !== 'events.jsonl' && n !== '.lock'), [], 'no container left');
});
