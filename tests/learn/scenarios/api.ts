/**
 * learnSteps() through the API, as root in a throwaway host: every step's evidence, verdict, exec and
 * close; then aborting a step mid-run. Reports what it saw; ../api.test.ts asserts.
 */
import { AbortError, learnSteps, listNetworks, listStates } from 'nsbox';

import { links, prepare, queues, report } from './common.js';

const root = prepare();
const steps = [];
for (const s of learnSteps()) {
  const support = await s.supported();
  const session = await s.run();
  const first = session.containers[0];
  const exec = await session.exec(['echo', 'hi']).catch((e: unknown) => ({ stdout: '', stderr: String(e), exitCode: -1 }));
  const statesOpen = listStates(root).length;
  await session.close();
  steps.push({
    id: s.id, support, shown: session.verdict.shown, detail: session.verdict.detail.en, evidence: session.evidence.map((e) => e.kind),
    topology: session.evidence.filter((e) => e.kind === 'topology'), texts: [s.title, s.claim, s.section].every((x) => x.en && x.zh),
    commands: s.commands, containers: session.containers.length, first: first?.label, exec, statesOpen, statesAfter: listStates(root).length,
  });
}

// Abort S2 (nine containers, one after another) while it runs.
const ac = new AbortController();
const running = learnSteps()[1]!.run({ signal: ac.signal });
const timer = setInterval(() => { if (listStates(root).length >= 2) ac.abort(); }, 10);
const aborted = await running.then(() => 'resolved', (e: unknown) => (e instanceof AbortError ? 'AbortError' : String(e)));
clearInterval(timer);
const early = await learnSteps()[0]!.run({ signal: AbortSignal.abort() }).then(() => 'resolved', (e: unknown) => (e instanceof Error ? e.name : String(e)));

report({ steps, aborted, statesAfterAbort: listStates(root).length, early, networks: (await listNetworks()).length, links: links(), queues: queues(), root });
