// learnSteps(): each step's evidence and verdict, exec into its container, close and abort leave
// nothing. Runs as a scenario in a throwaway host namespace. CI budget: ~20 s.
import { rmSync } from 'node:fs';

import test from 'ava';
import { CLAIM_IDS } from 'nsbox';

import { needsRoot } from '../helpers/privileged.js';
import { learnScenario } from './helpers.js';

interface Facts {
  steps: {
    id: string; support: { ok: boolean }; shown: boolean; detail: string; evidence: string[]; topology: { bridges: { endpoints: unknown[]; ifindex: number; address?: string }[]; probes: { ok: boolean; expected: boolean }[] }[];
    texts: boolean; commands: { nsbox: string[]; manual: string[] }; containers: number; first?: string;
    exec: { stdout: string; exitCode: number; stderr: string }; statesOpen: number; statesAfter: number;
  }[];
  aborted: string; statesAfterAbort: number; early: string; networks: number; links: string[]; queues: number; root: string;
}

test('every step runs, shows its claim from the evidence, execs, and closes without leftovers; abort cleans up', async (t) => {
  if (!needsRoot(t)) return;
  const r = await learnScenario<Facts>('api');
  if (r.facts.root) t.teardown(() => rmSync(r.facts.root, { recursive: true, force: true }));
  t.is(r.code, 0, r.stderr);
  const f = r.facts;
  t.deepEqual(f.steps.map((s) => s.id), [...CLAIM_IDS]);
  for (const s of f.steps) {
    t.true(s.support.ok, s.id);
    t.true(s.shown, `${s.id}: ${s.detail}`);
    t.true(s.evidence.length > 0, s.id);
    t.true(s.texts, `${s.id} has English and Chinese texts`);
    t.true(s.commands.nsbox.length > 0 && s.commands.manual.length > 0, s.id);
    t.true(s.containers > 0 && s.statesOpen >= s.containers, `${s.id}: its containers are alive until close`);
    t.deepEqual([s.exec.stdout, s.exec.exitCode], ['hi\n', 0], `${s.id}: exec into ${s.first}: ${s.exec.stderr}`);
    t.is(s.statesAfter, 0, `${s.id}: close removed its containers`);
  }
  const kinds = new Set(f.steps.flatMap((s) => s.evidence));
  t.deepEqual([...kinds].sort(), ['compare', 'lines', 'topology']);
  for (const s of f.steps.filter((x) => ['S12', 'S13', 'S14', 'S15'].includes(x.id))) {
    t.true(s.topology.length === 1, s.id);
    for (const b of s.topology[0]!.bridges) {
      t.true(b.ifindex > 0 && /\/\d+$/.test(b.address ?? ''), `${s.id}: bridge with its gateway address`);
      t.true(b.endpoints.length > 0);
    }
  }
  const s14 = f.steps.find((s) => s.id === 'S14')!.topology[0]!;
  t.is(s14.bridges.length, 2);
  t.deepEqual(s14.probes.map((p) => [p.ok, p.expected]), [[true, true], [true, true], [false, false], [false, false]]);
  t.is(f.aborted, 'AbortError');
  t.is(f.statesAfterAbort, 0, 'the aborted step removed what it had started');
  t.is(f.early, 'AbortError');
  t.is(f.networks, 0);
  t.deepEqual(f.links, [], 'no bridge or veth left');
  t.is(f.queues, 0, 'the host-side queue of S4 is gone');
});
