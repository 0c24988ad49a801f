/**
 * A detached container's network endpoint is released by whichever process removes it: `nsbox run
 * -d --network` in one process, `nsbox rm -f` in another (also after its monitor was SIGKILLed); and
 * by the monitor itself when the container ends on its own (with `--rm` and without).
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
  monitorRssKiB: number;
  ps: string;
  rm: { code: number; stderr: string };
  after: Seen;
  inspectEndpoints: Array<Record<string, unknown>>;
  containerDir: boolean;
}
interface Ended {
  started: { code: number; stderr: string };
  id: string;
  endpoint: string | null;
  during: Seen;
  ended: boolean;
  after: Seen;
  exitEvent: { errors?: string[] } | null;
  removeEvent: boolean;
  released?: string[] | null;
  stateErrors?: string[] | null;
  ps?: string | null;
  rm?: { code: number; stderr: string };
  afterRm?: Seen;
  containerDir?: boolean;
  nameFile?: boolean;
}
type Facts = { 'rm-f': Case; 'monitor-killed': Case; exit: Ended; 'rm-exit': Ended; rmNet: string };
const NOTHING = { veth: false, leases: 0, nftPort: false, files: null };
// One run of the scenario (one throwaway namespace) serves both tests.
let scenario: ReturnType<typeof runScenario<Facts>> | undefined;
const facts = () => (scenario ??= runScenario<Facts>('lifecycle-rm'));

test('run -d --network in one process, rm -f in another: veth, lease, nft rules and /etc files are released', async (t) => {
  if (!needsRoot(t)) return;
  const { code, facts: f, stderr } = await facts();
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
  // The monitor links nsbox-net for the exit and watches the memory cgroup for OOM kills; while the
  // container runs it stays small (2.0 MiB measured; conmon's order).
  t.true(f['rm-f'].monitorRssKiB > 0 && f['rm-f'].monitorRssKiB <= 3072, `monitor RSS ${f['rm-f'].monitorRssKiB} KiB`);
  t.is(f.rmNet, 'ok', 'the network has no endpoint left to hold it');
});

test('a container that ends by itself has its endpoint released by its monitor: --rm leaves nothing, without --rm ps shows it exited and rm works', async (t) => {
  if (!needsRoot(t)) return;
  const { code, facts: f, stderr } = await facts();
  t.is(code, 0, stderr);
  for (const [name, c] of [['exit', f.exit], ['rm-exit', f['rm-exit']]] as const) {
    t.is(c.started.code, 0, `${name}: ${c.started.stderr}`);
    t.like(c.during, { veth: true, leases: 1, nftPort: true, files: 'hostname,hosts,resolv.conf' }, `${name}: attached while it runs`);
    t.true(c.ended, `${name}: the container ended`);
    t.like(c.after, NOTHING, `${name}: veth, lease, nft port element and /etc files are gone at the exit, nobody called rm`);
    t.truthy(c.exitEvent, `${name}: exit event`);
    t.is(c.exitEvent?.errors, undefined, `${name}: the monitor met no error`);
  }
  // --rm: the directory, the name and the endpoint are gone.
  t.deepEqual(f['rm-exit'].after.records, []);
  t.true(f['rm-exit'].removeEvent);
  t.false(f['rm-exit'].nameFile);
  // Without --rm: still listed as exited, its state says what the monitor released; rm then works.
  const e = f.exit;
  t.is(e.ps, 'exited');
  t.is(e.after.records.length, 1, 'endpoints.json stays for inspect');
  t.deepEqual(e.released, [e.endpoint]);
  t.deepEqual(e.stateErrors, []);
  t.false(e.removeEvent);
  t.is(e.rm?.code, 0, e.rm?.stderr);
  t.deepEqual(e.afterRm, { records: [], ...NOTHING });
  t.false(e.containerDir);
  t.is(f.rmNet, 'ok');
});
