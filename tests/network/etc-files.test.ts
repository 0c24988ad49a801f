// /etc/hosts, /etc/resolv.conf, /etc/hostname inside containers on a network (host-root and --rootfs).
import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { runScenario } from './helpers.js';

interface Out { exit: number; out: string; err: string }
interface Facts {
  aId: string; aDir: string[]; aMounts: Array<[string, string]>;
  b: Out; c: Out; afterB: string[]; afterC: string[]; afterA: string[]; failed: string; afterFailed: string[]; hostUnchanged: boolean;
}

/** `cat /etc/hosts`, resolv.conf, hostname (file, then the kernel's), eth0's address. */
function parts(o: Out): { hosts: string; resolv: string; hostname: string; ip: string } {
  const [hosts = '', resolv = '', hostname = '', addr = ''] = o.out.split('---\n');
  return { hosts, resolv, hostname, ip: /inet (\d+\.\d+\.\d+\.\d+)\//.exec(addr)?.[1] ?? '?' };
}

test('own name and address, earlier peers, --dns, hostname; files gone after exit', async (t) => {
  if (!needsRoot(t)) return;
  const { code, facts: f, stderr } = await runScenario<Facts>('etc-files');
  t.is(code, 0, stderr);
  const dir = `run/containers/${f.aId}`;
  t.deepEqual(f.aDir, ['hostname', 'hosts', 'resolv.conf'], 'per-container files under the state root');
  t.deepEqual(f.aMounts, [['/etc/hosts', `${dir}/hosts`], ['/etc/resolv.conf', `${dir}/resolv.conf`], ['/etc/hostname', `${dir}/hostname`]]);

  // Host-root mode.
  t.is(f.b.exit, 0, f.b.err);
  const b = parts(f.b);
  t.is(b.ip, '10.201.0.3');
  t.regex(b.hosts, /^127\.0\.0\.1\tlocalhost$/m);
  t.regex(b.hosts, /^10\.201\.0\.3\tbee b$/m, 'own hostname and name on its own address');
  t.regex(b.hosts, /^10\.201\.0\.2\ta$/m, 'the peer started earlier');
  t.is(b.resolv, 'nameserver 192.0.2.53\n');
  t.is(b.hostname, 'bee\nbee\n', '/etc/hostname agrees with the kernel');

  // --rootfs mode: the files did not exist in the image.
  t.is(f.c.exit, 0, f.c.err);
  const c = parts(f.c);
  t.is(c.ip, '10.201.0.3', 'b\'s address was released and reused');
  t.regex(c.hosts, /^10\.201\.0\.3\tc$/m);
  t.regex(c.hosts, /^10\.201\.0\.2\ta$/m);
  t.notRegex(c.hosts, /\bb$/m, 'b has exited: not a peer any more');
  t.is(c.resolv, 'nameserver 192.0.2.54\nnameserver 192.0.2.55\n');

  t.deepEqual(f.afterB, [f.aId], 'b\'s files removed when it exited; a\'s still there');
  t.deepEqual(f.afterC, [f.aId]);
  t.deepEqual(f.afterA, [], 'nothing left after the last container');
  t.is(f.failed, 'ERR_NETWORK_NOT_FOUND');
  t.deepEqual(f.afterFailed, [], 'a container whose attach failed leaves no files either');
  t.true(f.hostUnchanged, 'the host\'s own /etc files are untouched');
});
