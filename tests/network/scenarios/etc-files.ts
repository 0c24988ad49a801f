/**
 * /etc/hosts, /etc/resolv.conf and /etc/hostname of containers on a network, in host-root and
 * --rootfs mode: bound in before the runtime's mounts, filled in at attach, gone after exit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { createNetwork, removeNetwork, run, spawn } from 'nsbox';

import { makeBusyboxRootfs } from '../../helpers/rootfs.js';
import { prepare, report } from './common.js';

prepare();
// The state root goes on a tmpfs of this throwaway mount namespace, not under /tmp like the other
// scenarios': nsbox-runtime stats a file bind's source after mounting its staging tmpfs over /tmp,
// so a source under /tmp onto a target that does not exist yet (--rootfs) is taken for a directory.
const root = '/mnt';
execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', root]);
process.env.NSBOX_ROOT = root;
const containersDir = path.join(root, 'run', 'containers');
const ls = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
const hostFiles = () => ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname'].map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : null));
const hostBefore = hostFiles();
await createNetwork({ name: 'blue', subnet: '10.201.0.0/24' });

// A peer, started first.
const a = spawn({ name: 'a', network: 'blue', command: ['sleep', '60'], stdout: 'ignore', stderr: 'inherit' });
await a.started;
const aDir = ls(path.join(containersDir, a.id));
const aMounts = (a.spec.mounts as Array<{ destination: string; source: string }>).filter((m) => m.destination.startsWith('/etc/'));

const show = 'cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname; hostname; echo ---; ip -4 -o addr show eth0';
// Host-root mode: the root is the host's, read-only; the files are bound over the host's.
const b = await run({ name: 'b', hostname: 'bee', network: 'blue', dns: ['192.0.2.53'], command: ['sh', '-c', show] });
const afterB = ls(containersDir);
// --rootfs mode: a busybox root without any /etc/hosts.
const rootfs = makeBusyboxRootfs();
let c: Awaited<ReturnType<typeof run>>;
try {
  c = await run({ name: 'c', network: 'blue', dns: ['192.0.2.54', '192.0.2.55'], rootfs: rootfs.root, command: ['/bin/sh', '-c', show] });
} finally {
  rootfs.remove();
}
const afterC = ls(containersDir);
a.kill('SIGKILL');
await a.wait().catch(() => undefined);
const afterA = ls(containersDir);
// Attach fails (no such network): the prepared files go with the container.
const failed = await run({ network: 'nope', command: ['true'] }).then(() => 'ran', (e: { code?: string }) => e.code);
const afterFailed = ls(containersDir);
await removeNetwork('blue');

report({
  aId: a.id,
  aDir,
  aMounts: aMounts.map((m) => [m.destination, path.relative(root, m.source)]),
  b: { exit: b.exitCode, out: b.stdout, err: b.stderr },
  c: { exit: c.exitCode, out: c.stdout, err: c.stderr },
  afterB,
  afterC,
  afterA,
  failed,
  afterFailed,
  hostUnchanged: JSON.stringify(hostFiles()) === JSON.stringify(hostBefore),
});
