/**
 * A detached container's network endpoint is released by whichever process removes it: `nsbox run
 * -d --network` in one process, `nsbox rm -f` in another (also after its monitor was SIGKILLed).
 * Runs in the networking tests' throwaway net+mount namespace (tests/network/helpers.ts).
 */
import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { runScenario } from '../network/helpers.js';

interface Seen { records: Array<Record<string, unknown>>; veth: boolean; leases: number; nftPort: boolean; files: string | null }
interface Case {
  started: { code: number; stderr: string };
  during: Seen;
  vethIndex: number;
  ps: string;
  rm: { code: number; stderr: string };
  after: Seen;
  inspectEndpoints: Array<Record<string, unknown>>;
  containerDir: boolean;
}
type Facts = { 'rm-f': Case; 'monitor-killed': Case; rmNet: string };

test('run -d --network in one process, rm -f in another: veth, lease, nft rules and /etc files are released', async (t) => {
  if (!needsRoot(t)) return;
  const { code, facts: f, stderr } = await runScenario<Facts>('lifecycle-rm');
  t.is(code, 0, stderr);
  for (const [name, c] of [['rm-f', f['rm-f']], ['monitor-killed', f['monitor-killed']]] as const) {
    t.is(c.started.code, 0, `${name}: ${c.started.stderr}`);
    t.like(c.during.records[0], { network: 'blue', address: '10.201.0.2/24', gateway: '10.201.0.1', netRoot: '/mnt' }, name);
    t.like(c.during, { veth: true, leases: 1, nftPort: true, files: 'hostname,hosts,resolv.conf' }, name);
    t.like(c.inspectEndpoints[0], { network: 'blue', hostVeth: c.during.records[0]!.hostVeth }, `${name}: inspect shows the endpoint`);
    t.true(c.vethIndex > 0, `${name}: the host veth exists`);
    t.like(c.inspectEndpoints[0], { hostIfindex: c.vethIndex }, `${name}: inspect gives the host veth's ifindex as the kernel has it`);
    t.is(c.ps, name === 'rm-f' ? 'running' : 'dead');
    t.is(c.rm.code, 0, `${name}: ${c.rm.stderr}`);
    t.deepEqual(c.after, { records: [], veth: false, leases: 0, nftPort: false, files: null }, `${name}: nothing of the endpoint is left`);
    t.false(c.containerDir);
  }
  t.is(f.rmNet, 'ok', 'the network has no endpoint left to hold it');
});
