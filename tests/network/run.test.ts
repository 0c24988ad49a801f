// S12–S15 through the whole stack, in a throwaway namespace playing the host.
import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { runScenario } from './helpers.js';

interface Facts {
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
