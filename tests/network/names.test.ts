/**
 * Peers by name on a user-defined network whichever started first (issue #13, root and rootless):
 * attach rewrites the live peers' /etc/hosts in place to list the newcomer, detach to drop the
 * departed, by rm or at its own exit (crates/nsbox-net/src/peers.rs). Each scenario runs in a throwaway `unshare --net
 * --mount` namespace; the rootless one as nobody (rootless-host.ts). CI budget: 30 s for both
 * (4–10 s root, 2–13 s rootless here, by the machine's load).
 */
import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { runRootlessScenario, runScenario } from './helpers.js';

type Cli = { code: number | null; stdout: string; stderr: string };
interface Common {
  a: Cli; b: Cli; aIp: string; bIp: string; inodeBefore: string; inodeAfter: string; getent: Cli; ping: Cli; aHosts: string; rmB: Cli; aHostsAfterRm: string; rmA: Cli;
  e: Cli; eListed: boolean; stopE: Cli; eDropped: boolean; rmE: Cli;
}
interface RootFacts extends Common {
  create: Cli; c: Cli; bHosts: string; getentAfterRm: Cli; moved: boolean; newcomer: Cli; rmC: Cli; rmNets: Array<number | null>;
}
interface RootlessFacts extends Common { create: Cli; rmNet: Cli; leftover: { procs: number; containers: string[] } }

/** The earlier container a learns the later b's name and address, and forgets b once it is removed. */
function assertPeers(t: import('ava').ExecutionContext, f: Common, subnet: RegExp): void {
  t.is(f.a.code, 0, f.a.stderr);
  t.is(f.b.code, 0, f.b.stderr);
  t.regex(f.bIp, subnet);
  t.is(f.getent.code, 0, `a resolves b, started after it: ${f.getent.stderr}\n${f.aHosts}`);
  t.is(f.getent.stdout.split(/\s+/)[0], f.bIp, `by b's address: ${f.getent.stdout}`);
  t.is(f.ping.code, 0, `a reaches b by name: ${f.ping.stdout}${f.ping.stderr}`);
  t.regex(f.aHosts, new RegExp(`^${f.bIp.replaceAll('.', '\\.')}\\tb$`, 'm'));
  t.is(f.inodeAfter, f.inodeBefore, 'rewritten in place: the bind mount still shows the same inode');
  t.is(f.rmB.code, 0, f.rmB.stderr);
  t.notRegex(f.aHostsAfterRm, /\sb$/m, `b removed: no longer in a's /etc/hosts:\n${f.aHostsAfterRm}`);
  t.regex(f.aHostsAfterRm, new RegExp(`^${f.aIp.replaceAll('.', '\\.')}\\ta$`, 'm'), 'a keeps its own line, on its address (a detached container\'s too)');
  t.is(f.rmA.code, 0, f.rmA.stderr);
  // One that ends by itself leaves too (released at its exit, not by rm).
  t.is(f.e.code, 0, f.e.stderr);
  t.true(f.eListed, 'e listed while it runs');
  t.is(f.stopE.code, 0, f.stopE.stderr);
  t.true(f.eDropped, 'e stopped: gone from a\'s /etc/hosts without any rm');
  t.is(f.rmE.code, 0, f.rmE.stderr);
}

test('root network: an earlier container reaches a later one by name; a removed one leaves its peers\' /etc/hosts', async (t) => {
  if (!needsRoot(t)) return;
  const { code, facts: f, stderr } = await runScenario<RootFacts>('names');
  t.is(code, 0, stderr);
  t.is(f.create.code, 0, f.create.stderr);
  assertPeers(t, f, /^10\.202\.0\.\d+$/);
  t.regex(f.bHosts, new RegExp(`^${f.aIp.replaceAll('.', '\\.')}\\ta$`, 'm'), 'b lists a (started before it)');
  t.is(f.c.code, 0, f.c.stderr);
  t.notRegex(f.aHosts, /\sc$/m, 'c is on another network: not a peer');
  t.is(f.getentAfterRm.code, 2, 'b no longer resolves in a');
  t.true(f.moved);
  t.deepEqual([f.newcomer.code, f.newcomer.stdout, f.newcomer.stderr], [0, '1', ''], 'a peer whose hosts file is gone does not fail a newcomer (which still lists it)');
  t.is(f.rmC.code, 0, f.rmC.stderr);
  t.deepEqual(f.rmNets, [0, 0]);
});

test('rootless network: an earlier container reaches a later one by name; a removed one leaves its peers\' /etc/hosts', async (t) => {
  const f = await runRootlessScenario<RootlessFacts>(t, 'rootless-names');
  if (!f) return;
  t.is(f.create.code, 0, f.create.stderr);
  assertPeers(t, f, /^10\.91\.1\.\d+$/);
  t.is(f.rmNet.code, 0, f.rmNet.stderr);
  t.deepEqual(f.leftover, { procs: 0, containers: [] }, 'no holder, watcher or /etc files left');
});
