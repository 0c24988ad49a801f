/**
 * SIGKILL `nsbox learn --check STEP` mid-step (S4: a queue in the host's IPC namespace; S7: a scratch
 * directory; S14: two bridges, veths, three detached containers), then start learn again: its first
 * step removes what the dead sessions left. Reports both pictures; ../kill.test.ts asserts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

import { listNetworks, listStates } from 'nsbox';

import { learnScratch } from '../helpers.js';
import { CLI, links, prepare, processesNaming, queues, report, until } from './common.js';

const root = prepare();
const pids: (readonly [number, number])[] = [];
const killed: { step: string; pid: number; reached: boolean; left: Picture }[] = [];
type Picture = Awaited<ReturnType<typeof picture>>;
const picture = async () => ({
  states: listStates(root).map((s) => `${s.name} ${s.status}`),
  networks: (await listNetworks()).map((n) => n.name),
  links: links(),
  queues: queues(),
  scratch: learnScratch().filter((d) => killed.some((k) => d.startsWith(`nsbox-learn-${k.pid}.`)) || d.startsWith(`nsbox-learn-${current}.`)),
  processes: processesNaming(root),
});
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
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
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
const alive = pids.filter(([p, start]) => startTime(p) === start).map(([p]) => p);
report({ killed, next, after, alive });
rmSync(root, { recursive: true, force: true });
