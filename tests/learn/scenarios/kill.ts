/**
 * SIGKILL `nsbox learn --check STEP` mid-step (S4: a queue in the host's IPC namespace; S7: a scratch
 * directory; S14: two bridges, veths, three detached containers), then start learn again: its first
 * step removes what the dead sessions left. Before that, with nothing else started, each session's
 * containers die with it (--die-with). Reports both pictures; ../kill.test.ts asserts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

import { listNetworks, listStates } from 'nsbox';

import { learnScratch } from '../helpers.js';
import { CLI, links, prepare, processesNaming, queues, report, until } from './common.js';

const root = prepare();
const pids: (readonly [number, number])[] = [];
const killed: { step: string; pid: number; reached: boolean; left: Picture }[] = [];
const diedWith: { step: string; containers: number; died: boolean; ms: number }[] = [];
type Picture = Awaited<ReturnType<typeof picture>>;
const picture = async () => ({
  states: listStates(root).map((s) => `${s.name} ${s.status}`),
  networks: (await listNetworks()).map((n) => n.name),
  links: links(),
  queues: queues(),
  scratch: learnScratch().filter((d) => killed.some((k) => d.startsWith(`nsbox-learn-${k.pid}.`)) || d.startsWith(`nsbox-learn-${current}.`)),
  processes: processesNaming(root),
});
// Alive: the same process (pid and start time), not a later one that reused the pid. A zombie has
// ended: daemonized monitors are re-parented to the machine's PID 1, which reaps when it will.
const startTime = (pid: number) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return fields[0] === 'Z' ? null : Number(fields[19]);
  } catch {
    return null;
  }
};
let current = 0;
const waitFor: Record<string, () => boolean> = {
  S4: () => queues() > 0,
  S7: () => listStates(root).some((s) => s.name.includes('-s7-box-') && s.status === 'running'),
  S14: () => listStates(root).some((s) => s.name.includes('-s14-b1-') && s.status === 'running'),
};
for (const step of ['S4', 'S7', 'S14']) {
  const child = spawn(process.execPath, [CLI, 'learn', '--check', step], { stdio: 'ignore' });
  current = child.pid!;
  const reached = await until(waitFor[step]!);
  // This session's container processes (pid and start time), taken before the kill.
  // (S4's host-ipc container outlives it on purpose: its SIGTERM trap removes the host's queue.)
  const mine = listStates(root).filter((s) => s.name.startsWith(`learn-${child.pid}.`) && !s.name.includes('-s4-host-ipc-')
    && s.pid !== null && s.pidStartTime !== null)
    .map((s) => [s.pid!, s.pidStartTime!, s.id] as const);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // Nothing else started: its containers die with it (--die-with), their monitors record the exit.
  const t0 = Date.now();
  // Gone, and their monitors recorded the exit (before the next start sweeps them).
  const exited = () => new Set(listStates(root).filter((s) => s.status === 'exited').map((s) => s.id));
  const died = await until(() => mine.every(([p, start, id]) => startTime(p) !== start && exited().has(id)), 10_000);
  diedWith.push({ step, containers: mine.length, died, ms: Date.now() - t0 });
  // What it left, before the next start (each start sweeps what the previous one left).
  killed.push({ step, pid: child.pid!, reached, left: await picture() });
  pids.push(...listStates(root).flatMap((s) => [[s.pid, s.pidStartTime], [s.monitorPid, s.monitorStartTime]] as const)
    .filter((p): p is readonly [number, number] => p[0] !== null && p[1] !== null));
}

// The next start: `learn --check S3` sweeps, then runs S3 and removes its own.
const next = await new Promise<number | null>((resolve) => {
  const c = spawn(process.execPath, [CLI, 'learn', '--check', 'S3'], { stdio: 'ignore' });
  c.once('exit', (code) => resolve(code));
});
const after = await picture();
const alive = pids.filter(([p, start]) => startTime(p) === start).map(([p]) => p);
report({ killed, diedWith, next, after, alive });
rmSync(root, { recursive: true, force: true });
