/**
 * `nsbox learn` in a real terminal (tmux, 120×40) with the real library: walk S1 → S15, run each step,
 * read the screen back after each (the step's id and its verdict: "shown ✓", or "not supported on this
 * host" with the reason when the library says this host cannot show it; "not shown" or a failed run fails
 * the test), then quit and find nothing left: no process, no container in the state root, no link but lo.
 * Then the same "nothing left" after SIGTERM while a step is still running, and after SIGHUP with a
 * step's containers up.
 *
 * Everything runs in a throwaway `unshare --net --mount --pid --fork --mount-proc` (the network steps
 * create bridges and veths; the pid namespace lets its shell list every process left, container or
 * monitor, however it was reparented) with a state root of the test's own. Needs root, tmux and the
 * `learn` branch's library and CLI (`npm run build` first); without learnSteps() steps it FAILS, saying
 * so. CI budget: 2 min (the walk is ~20 s here, the signal cases ~10 s each).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import * as nsbox from 'nsbox';
import { CLI } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { Terminal } from './e2e-terminal.js';

const IDS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11', 'S12', 'S13', 'S14', 'S15'];
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The pane: the header line of the step shown (`S12 <title> · English (L)`), then its verdict. */
const header = (id: string) => new RegExp(`(^|[│ ])${id} \\S.*· (English|中文) \\(L\\)`, 'm');
const VERDICT = /(shown ✓ — .*|not shown — .*|not supported on this host — .*)/;

/** Fails the test (returns false) unless root, a build, and the learn library with its 15 steps are here. */
function ready(t: ExecutionContext): boolean {
  if (!needsRoot(t)) return false;
  if (!existsSync(CLI)) { t.fail(`build first: ${CLI} is missing`); return false; }
  const lib = nsbox as unknown as { learnSteps?: () => Array<{ id: string }> };
  const steps = typeof lib.learnSteps === 'function' ? lib.learnSteps() : [];
  if (steps.length === 0) {
    t.fail('learnSteps() returned no steps: this test needs the `learn` branch (library + `nsbox learn`) merged and built');
    return false;
  }
  t.deepEqual(steps.map((s) => s.id), IDS, 'one step per claim, in order');
  return true;
}

interface Session { term: Terminal; dir: string; root: string }

const children = (pid: number): number[] => {
  try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
};
const cmdline = (pid: number): string[] => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { return []; } };
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The throwaway pid namespace's init (the script's shell): unshare --fork's child, the pane's process. */
function nsInit(s: Session): number | undefined {
  try { return children(Number(s.term.pid()))[0]; } catch { return undefined; }
}

/** The host pid of `nsbox learn` in the session: the child of the namespace's init running the CLI. */
function learnPid(s: Session): number {
  const init = nsInit(s);
  const pid = init === undefined ? undefined : children(init).find((p) => cmdline(p).includes(CLI));
  if (pid === undefined) throw new Error('nsbox learn is not running in the session');
  return pid;
}

/**
 * `nsbox learn ARGS` in tmux inside the throwaway namespaces; after it exits the shell lists what is left.
 * Teardown, pass or fail: SIGTERM to nsbox learn (it closes its sessions) and wait, then SIGKILL the
 * namespace's init (everything still in it dies), then the tmux server of the test's own and the files.
 */
function openLearn(t: ExecutionContext, name: string, args: string[]): Session {
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-learn-e2e-'));
  const root = path.join(dir, 'root');
  const node = `${sq(process.execPath)} ${sq(CLI)}`;
  const script = [
    'ip link set lo up',
    `NSBOX_ROOT=${root} ${node} learn ${args.join(' ')}`,
    `echo "LEARN-EXIT $?"`,
    `ps -e -o pid=,comm=,args= > ${dir}/procs`,
    `NSBOX_ROOT=${root} ${node} ps -a --format json > ${dir}/containers 2>&1`,
    `ip -o link show > ${dir}/links`,
    'echo CHECKED',
    'sleep 120',
  ].join('; ');
  const term = Terminal.open(`learn-${name}`, `unshare --net --mount --pid --fork --mount-proc --propagation private sh -c ${sq(script)}`,
    { socket: path.join(dir, 'tmux.sock') });
  const s = { term, dir, root };
  t.teardown(async () => {
    const init = nsInit(s);
    let pid: number | undefined;
    try { pid = learnPid(s); } catch { /* already exited */ }
    if (pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 150 && alive(pid); i++) await sleep(100);
    }
    if (init !== undefined && alive(init)) process.kill(init, 'SIGKILL');
    term.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** The cgroup directories nsbox made for the containers this session's state root ever recorded. */
function cgroupsOf(root: string): string[] {
  let events = '';
  try { events = readFileSync(path.join(root, 'events.jsonl'), 'utf8'); } catch { return []; }
  const ids = new Set(events.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id?: string }).id).filter((x): x is string => !!x));
  const found: string[] = [];
  const walk = (d: string, depth: number): void => {
    let names: string[] = [];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const full = path.join(d, n);
      if (n.startsWith('nsbox-') && [...ids].some((id) => n === `nsbox-${id.slice(0, 32)}` || n === `nsbox-${id}`)) found.push(full);
      else if (depth < 4 && !n.includes('.')) walk(full, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

/** After the CLI exited: only the shell (and its ps) in the namespace, no container, no cgroup, no link but lo. */
async function nothingLeft(t: ExecutionContext, s: Session, exit: string): Promise<void> {
  const screen = await s.term.waitFor((x) => x.includes('CHECKED'), 'nsbox learn to exit and the leftovers to be listed', 60_000);
  t.true(screen.includes(`LEARN-EXIT ${exit}`), `nsbox learn exits ${exit}; screen:\n${screen}`);
  t.deepEqual(s.term.modes(), { alternate: false, cursor: true }, 'terminal restored');
  const procs = readFileSync(`${s.dir}/procs`, 'utf8').trim().split('\n').map((l) => l.trim());
  t.deepEqual(procs.filter((l) => !/^\d+ (sh|ps) /.test(l)), [], 'no process left in the namespace (only the shell and ps)');
  t.is(readFileSync(`${s.dir}/containers`, 'utf8').trim(), '', 'no container left in the state root');
  t.deepEqual(cgroupsOf(s.root), [], 'no cgroup left of any container the session made');
  const links = readFileSync(`${s.dir}/links`, 'utf8').trim().split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]);
  t.deepEqual(links, ['lo'], 'no bridge or veth left');
}

test.serial('nsbox learn in tmux: S1 → S15 each run, read back, verdict shown (or not supported, with why); q leaves nothing', async (t) => {
  if (!ready(t)) return;
  const s = openLearn(t, 'walk', []);
  await s.term.settled((x) => x.includes('[6 Learn]') && header('S1').test(x), 'the Learn view at S1');
  const started = Date.now();
  for (const [i, id] of IDS.entries()) {
    if (i > 0) s.term.keys('n');
    // The step is current and not yet run (or says this host cannot show it) before Enter.
    await s.term.waitFor((x) => header(id).test(x) && new RegExp(`›${id}\\s`).test(x) && /not run yet|not supported on this host/.test(x), `${id} selected`);
    const t0 = Date.now();
    s.term.keys('Enter');
    const screen = await s.term.waitFor((x) => header(id).test(x) && VERDICT.test(x) && !x.includes('running…'), `${id}'s verdict`, 60_000);
    const verdict = VERDICT.exec(screen)![1]!;
    t.log(`${id} ${((Date.now() - t0) / 1000).toFixed(1)} s: ${verdict}`);
    if (verdict.startsWith('not supported')) t.regex(screen, new RegExp(`›${id}\\s+–`), `${id} marked not supported in the list`);
    else {
      t.true(verdict.startsWith('shown ✓'), `${id} shown on this kernel; screen:\n${screen}`);
      t.regex(screen, new RegExp(`›${id}\\s+✓`), `${id} marked shown in the list`);
    }
    if (id === 'S9' && verdict.startsWith('shown')) {
      // `e`: a command of the user's own in the step's container, its output in the pane.
      s.term.keys('e');
      await s.term.waitFor((x) => x.includes('Enter runs it inside'), 'the command prompt');
      s.term.text('hostname; echo from-$$');
      s.term.keys('Enter');
      const out = await s.term.waitFor((x) => /\$ hostname; echo from-\$\$ → exit 0/.test(x), 'the command\'s output', 20_000);
      t.regex(out, /^.*│ from-\d+\s/m, 'its output, from a shell inside the container');
    }
  }
  t.log(`walk: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  s.term.keys('q');
  await nothingLeft(t, s, '0');
});

test.serial('nsbox learn S14: SIGTERM while the step is still running ends it and leaves nothing', async (t) => {
  if (!ready(t)) return;
  const s = openLearn(t, 'term', ['S14']);
  await s.term.settled((x) => header('S14').test(x) && x.includes('not run yet'), 'S14');
  s.term.keys('Enter');
  await s.term.waitFor((x) => x.includes('running…'), 'S14 running');
  process.kill(learnPid(s), 'SIGTERM');
  await nothingLeft(t, s, '143');
});

test.serial('nsbox learn S12 --lang zh: SIGHUP with the step\'s containers up closes them and leaves nothing', async (t) => {
  if (!ready(t)) return;
  const s = openLearn(t, 'hup', ['S12', '--lang', 'zh']);
  await s.term.settled((x) => header('S12').test(x) && x.includes('中文 (L)'), 'S12 in Chinese');
  s.term.keys('Enter');
  await s.term.waitFor((x) => /shown ✓ — /.test(x), 'S12 shown', 60_000);
  t.true(cgroupsOf(s.root).length > 0, 'the cgroup check sees the running containers\' cgroups (it is not vacuous)');
  process.kill(learnPid(s), 'SIGHUP');
  await nothingLeft(t, s, '129');
});
