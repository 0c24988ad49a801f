// A learn session SIGKILLed mid-step leaves containers, networks, a host queue and a scratch
// directory; the next start removes them all. In a throwaway host namespace. Then the same for an
// ordinary user's rootless networks (S14 as nobody). CI budget: ~25 s.
import test from 'ava';

import { nobodyCannotRun } from '../helpers/nobody.js';
import { needsRoot } from '../helpers/privileged.js';
import { learnScenario } from './helpers.js';

interface Picture { states: string[]; networks: string[]; links: string[]; queues: number; scratch: string[]; processes: string[] }
interface Facts {
  killed: { step: string; reached: boolean; left: Picture }[];
  diedWith: { step: string; containers: number; died: boolean; ms: number }[];
  next: number | null;
  after: Picture;
  alive: number[];
}

test('SIGKILL mid-step, then the next start: no container, network, link, queue, directory or process left', async (t) => {
  if (!needsRoot(t)) return;
  const r = await learnScenario<Facts>('kill');
  t.is(r.code, 0, r.stderr);
  const f = r.facts;
  for (const k of f.killed) t.true(k.reached, `${k.step} was killed mid-step`);
  // With nothing else started, each session's containers died with it (--die-with).
  t.is(f.diedWith.length, 3, JSON.stringify(f.diedWith));
  for (const d of f.diedWith) {
    t.log(`${d.step}: ${d.containers} container(s) gone ${d.ms} ms after the kill`);
    t.true(d.containers > 0 && d.died, `${d.step}: its containers died with the learn process`);
  }
  const [s4, s7, s14] = f.killed.map((k) => k.left) as [Picture, Picture, Picture];
  // Each kill left things behind (the exited containers' state, networks, queues, scratch); each
  // next start (the following kill's run, then S3's) removed the previous one's.
  t.true(s4.states.some((s) => s.includes('-s4-host-ipc-')), 'S4: its containers');
  t.true(s4.queues > 0, "S4: its queue in the host's IPC namespace");
  t.true(s7.states.every((s) => s.includes('-s7-')) && s7.states.length > 0, 'S7: its container only: S4\'s were swept');
  t.is(s7.queues, 0, "S4's queue was removed by the next start");
  t.is(s7.scratch.length, 1, "S7's scratch directory");
  t.true(s14.states.length >= 3 && s14.states.every((s) => s.includes('-s14-')), 'S14: its containers only');
  t.is(s14.networks.length, 2, "S14's two networks");
  // The veths went with the containers (released as they exited); the bridges wait for the sweep.
  t.true(s14.links.length >= 2, 'two bridges');
  t.deepEqual(s14.scratch, [], "S7's scratch directory was removed by the next start");
  t.is(f.next, 0);
  t.deepEqual(f.after, { states: [], networks: [], links: [], queues: 0, scratch: [], processes: [] });
  t.deepEqual(f.alive, [], 'every container and monitor process of the dead sessions is gone');
});

interface RootlessPicture { states: string[]; networks: string[]; holder: boolean; processes: string[] }
interface RootlessFacts { reached: boolean; left: RootlessPicture; next: number | null; after: RootlessPicture }

test('as nobody: SIGKILL in S14 leaves rootless networks; the next start removes them and the holder goes', async (t) => {
  if (!needsRoot(t)) return;
  const why = nobodyCannotRun();
  if (why) return t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
  const r = await learnScenario<RootlessFacts>('kill-rootless');
  t.is(r.code, 0, r.stderr);
  const f = r.facts;
  t.true(f.reached, 'S14 was killed mid-step');
  t.is(f.left.networks.length, 2, "S14's two rootless networks were left");
  t.true(f.left.holder, "and nobody's holder with them");
  t.true(f.left.states.length >= 3, 'and its containers');
  t.is(f.next, 0);
  t.deepEqual(f.after, { states: [], networks: [], holder: false, processes: [] });
});
