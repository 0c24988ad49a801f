// S14, egress, the CLI, 50 concurrent starts and lease reclaim, in a throwaway host namespace.
import test from 'ava';

import { needsRoot } from '../helpers/privileged.js';
import { runScenario } from './helpers.js';

type Cli = { code: number; stdout: string; stderr: string };
interface Facts {
  createBlue: Cli; createRed: Cli; overlap: Cli; ls: Array<[string, number]>;
  bOut: string; bErr: string; redMtu: string;
  ips: string[]; reclaimed: string; reclaimedErr: string;
  rmUnknown: Cli; endpointsLeft: number; prune: string; tables: string; links: string;
}

test('isolation between networks, egress via the host address, CLI, 50 at once, reclaim', async (t) => {
  if (!needsRoot(t)) return;
  const { code, facts: f, stderr } = await runScenario<Facts>('isolation');
  t.is(code, 0, stderr);
  t.is(f.createBlue.code, 0, f.createBlue.stderr);
  t.is(f.createRed.code, 0, f.createRed.stderr);
  t.is(f.overlap.code, 125);
  t.regex(f.overlap.stderr, /ERR_SUBNET_OVERLAP: subnet 10\.201\.0\.128\/25 overlaps network "blue"/);
  t.deepEqual(f.ls, [['blue', 1500], ['red', 1400]]);
  t.notRegex(f.bOut, /cross-ok/, 'S14: blue cannot reach red');
  t.regex(f.bOut, /^198\.51\.100\.1$/m, 'egress leaves with the host\'s address');
  t.regex(f.bOut, /^1500$/m);
  t.is(f.redMtu, '1400', '--mtu reaches the container\'s eth0');
  t.is(f.ips.length, 50);
  t.is(new Set(f.ips).size, 50, `50 distinct addresses: ${f.ips.join(' ')}`);
  t.true(f.ips.every((ip) => /^10\.201\.0\.\d+\/24$/.test(ip)), f.ips.join(' '));
  t.is(f.reclaimed, '10.201.0.77/24', `the SIGKILLed owner's address was reclaimed ${f.reclaimedErr}`);
  t.is(f.rmUnknown.code, 125);
  t.regex(f.rmUnknown.stderr, /ERR_NETWORK_NOT_FOUND/);
  t.is(f.endpointsLeft, 0);
  t.deepEqual(JSON.parse(f.prune), ['blue', 'red']);
  t.is(f.tables, '');
  t.notRegex(f.links, /nsbox/);
});
