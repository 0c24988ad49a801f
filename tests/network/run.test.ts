// S12–S15 through the whole stack, in a throwaway namespace playing the host.
import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { runScenario } from './helpers.js';

type Cli = { code: number; stdout: string; stderr: string };
interface Facts {
  inspectJson: Cli;
  inspectTable: Cli;
  hostSide: string;
  inside: string;
  rmInUse: Cli;
  bridge: string;
  bridgeAddr: string;
  listening: boolean;
  endpointsDuring: Array<{ container: string; ip: string; alive: boolean }>;
  vethOnBridge: boolean;
  bExit: number;
  bOut: string;
  bErr: string;
  fromHost: string | null;
  fromHostAddr: string | null;
  endpointsAfter: number;
  portsLeftAfter: boolean;
  linksRestored: boolean;
  tablesAfterRemove: string;
}

test('containers on a network: gateway on the bridge, eth0 peer on it, reach each other, published port, nothing left', async (t) => {
  if (!needsRoot(t)) return;
  const { code, facts: f, stderr } = await runScenario<Facts>('run-on-network');
  t.is(code, 0, stderr);
  t.regex(f.bridgeAddr, /inet 10\.201\.0\.1\/24/, 'S13: the bridge holds the gateway');
  t.true(f.listening, 'the server in a listened');
  t.deepEqual(f.endpointsDuring, [{ container: 'a', ip: '10.201.0.2', alive: true }]);
  t.true(f.vethOnBridge, 'S12/S15: the host end of the veth is enslaved to the bridge');

  // `network inspect`: each endpoint's container, veth pair (both names and ifindexes), IP and MAC,
  // as the kernel has them on each side.
  t.is(f.inspectJson.code, 0, f.inspectJson.stderr);
  const [d] = JSON.parse(f.inspectJson.stdout) as Array<{ bridge: string; bridgeLink: { index: number }; endpoints: Array<Record<string, any>> }>;
  const [e] = d!.endpoints;
  const host = /^(\d+): (\S+)@if(\d+):.* master (\S+) .*link\/ether (\S+)/.exec(f.hostSide);
  const ctr = /^(\d+): eth0@if(\d+):.*link\/ether (\S+)/.exec(f.inside);
  t.truthy(host, f.hostSide);
  t.truthy(ctr, f.inside);
  t.like(e, { container: 'a', ip: '10.201.0.2', mac: ctr![3], hostVeth: host![2], containerIfname: 'eth0', alive: true });
  t.is(e!.hostLink.index, Number(host![1]), 'host end ifindex');
  t.is(e!.hostLink.peer, Number(ctr![1]), 'container end ifindex (eth0 inside)');
  t.is(e!.hostLink.master, d!.bridgeLink.index, 'host end on the bridge');
  t.is(Number(ctr![2]), Number(host![1]), 'the kernel pairs them the same way');
  t.is(f.inspectTable.code, 0, f.inspectTable.stderr);
  t.true(f.inspectTable.stdout.includes(`└─ ${host![2]}@if${host![1]} ⇄ eth0@if${ctr![1]} 10.201.0.2 ${ctr![3]}  a`), f.inspectTable.stdout);

  // Removing a network a live container uses: EBUSY, naming the container; nothing removed.
  t.is(f.rmInUse.code, 125);
  t.regex(f.rmInUse.stderr, /^nsbox: .*EBUSY.*network "blue" is in use by a \(10\.201\.0\.2\)/m);
  t.is(f.bExit, 0, f.bErr);
  t.regex(f.bOut, /eth0\s+inet 10\.201\.0\.3\/24/);
  t.regex(f.bOut, /default via 10\.201\.0\.1 dev eth0/);
  t.regex(f.bOut, /hello-from-a/, 'S14: b reaches a over the bridge (TCP)');
  t.regex(f.bOut, /ping-ok/);
  t.is(f.fromHost, 'hello-from-a', 'published port from the host via localhost');
  t.is(f.fromHostAddr, 'hello-from-a', 'published port via a host address');
  t.is(f.endpointsAfter, 0, 'leases released after exit');
  t.false(f.portsLeftAfter, 'port mapping removed');
  t.true(f.linksRestored, 'no links left');
  t.is(f.tablesAfterRemove, '', 'no nft table after the last network');
});
