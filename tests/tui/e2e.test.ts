/**
 * The dashboard in a real terminal (tmux, 120×40) over the real API (the lifecycle API's Runtime, the
 * default state root): create a container from the form, see it listed with its namespaces (checked
 * against /proc and `nsbox inspect`) and its log, exec a shell and come back, quit the dashboard and find
 * the container still running (the CLI agrees), open the dashboard again, stop and remove it there, and
 * the CLI no longer lists it. Needs root and tmux; `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { CLI } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { makeBusyboxRootfs } from '../helpers/rootfs.js';
import { Terminal } from './e2e-terminal.js';
import { delay } from './helpers.js';

const cli = (...args: string[]): string => execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ps = (all: boolean): unknown[] => cli('ps', ...(all ? ['-a'] : []), '--format', 'json').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
const listed = (name: string, all = false): boolean => ps(all).some((c) => JSON.stringify(c).includes(`"${name}"`));

test('tui in tmux over detached containers: form → namespaces, logs → exec → quit (still running) → reopen → stats → stop → remove', async (t) => {
  if (!needsRoot(t)) return;
  t.true(existsSync(CLI), `build first: ${CLI} is missing`);
  const rootfs = makeBusyboxRootfs();
  t.teardown(() => rootfs.remove());
  // A state root of the test's own, so nothing is left in the machine's /run/nsbox.
  const stateRoot = mkdtempSync(path.join(tmpdir(), 'nsbox-tui-e2e-'));
  process.env.NSBOX_ROOT = stateRoot;
  t.teardown(() => { delete process.env.NSBOX_ROOT; rmSync(stateRoot, { recursive: true, force: true }); });
  const name = `e2e-${process.pid}`;
  t.teardown(() => { try { cli('rm', '-f', name); } catch { /* already removed */ } });
  let term = Terminal.open(`nsbox-tui-e2e-${process.pid}`, `NSBOX_ROOT=${stateRoot} node ${CLI} tui; echo "TUI-EXIT $?"; sleep 60`);
  t.teardown(() => term.close());

  await term.settled((s) => s.includes('[1 Containers]'), 'the dashboard');
  t.deepEqual(term.modes(), { alternate: true, cursor: false }, 'full screen: alternate screen, cursor hidden');
  t.false(term.screen().includes('end when the dashboard quits'), 'containers are detached');
  term.keys('n');
  await term.waitFor((s) => s.includes('New container'), 'the form');
  term.text(name);
  term.keys('Down', 'Right');
  await term.waitFor((s) => s.includes('[rootfs]'), 'rootfs chosen');
  term.keys('Down');
  term.text(rootfs.root);
  term.keys('Down');
  term.text("sh -c 'echo hello-from-e2e; exec sleep 1000'");
  term.keys('Down');
  term.text('e2ehost');
  term.keys('Down');
  const chosen = (x: string): string | undefined => /network\s.*?\[([^\]]+)\]/.exec(x)?.[1];
  for (let i = 0; i < 8 && chosen(term.screen()) !== 'none'; i++) {
    const before = chosen(term.screen());
    term.keys('Right');
    await term.waitFor((x) => chosen(x) !== before, 'the network choice to move');
  }
  term.keys('Down', 'Down', 'Enter');
  const row = new RegExp(`${name}\\s+[0-9a-f]{12} running\\s+(\\d+)`);
  let s = await term.waitFor((x) => row.test(x), 'the container running in the list');
  const pid = Number(row.exec(s)![1]);
  t.true(listed(name), '`nsbox ps --format json` lists it too');

  term.keys('Enter');
  s = await term.waitFor((x) => x.includes('[Namespaces]') && x.includes('of 8 isolated'), 'the Namespaces tab');
  for (const kind of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']) {
    const inode = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${kind}`))![1]!;
    t.regex(s, new RegExp(`^${kind}\\s+${inode}\\s+\\d+\\s+isolated`, 'm'), `${kind} namespace ${inode}`);
    t.true(cli('inspect', name).includes(inode), `nsbox inspect shows the ${kind} namespace ${inode}`);
  }
  term.keys('Left');
  await term.waitFor((x) => x.includes('[Logs]') && x.includes('hello-from-e2e'), 'the log line');

  term.keys('e');
  await term.waitFor((x) => !x.includes('[1 Containers]'), 'the shell on the plain screen');
  await delay(300);
  term.text('hostname');
  term.keys('Enter');
  await term.waitFor((x) => x.includes('e2ehost'), 'the container hostname from the shell');
  term.text('exit 3');
  term.keys('Enter');
  await term.settled((x) => x.includes('[1 Containers]') && x.includes('shell exited with code 3'), 'back in the dashboard');

  term.keys('q');
  await term.waitFor((x) => x.includes('TUI-EXIT 0'), 'the TUI to exit 0');
  t.deepEqual(term.modes(), { alternate: false, cursor: true }, 'terminal restored');
  t.true(existsSync(`/proc/${pid}`), 'the container outlives the dashboard');
  t.true(listed(name), '…and the CLI still lists it');
  term.close();

  term = Terminal.open(`nsbox-tui-e2e2-${process.pid}`, `NSBOX_ROOT=${stateRoot} node ${CLI} tui; echo "TUI-EXIT $?"; sleep 60`);
  s = await term.settled((x) => row.test(x), 'the container in a new dashboard');
  t.is(Number(row.exec(s)![1]), pid);
  term.keys('/');
  term.text(name);
  term.keys('Enter');
  await term.waitFor((x) => x.includes(`filter: ${name}  (1 shown`), 'filtered');
  // The Stats tab: the container's usage from the library's stats, a reading a second.
  term.keys('Enter', 'Right', 'Right', 'Right');
  s = await term.waitFor((x) => x.includes('[Stats]') && /^\s*PIDS\s+\d+/m.test(x) && /[2-9] readings over/.test(x), 'the Stats tab', 10_000);
  t.regex(s, /^\s*CPU %\s+\d+\.\d%/m);
  term.keys('Escape');
  await term.waitFor((x) => x.includes(`filter: ${name}  (1 shown`), 'back in the list');
  term.keys('s');
  await term.waitFor((x) => new RegExp(`${name}\\s+[0-9a-f]{12} exited\\(\\d+\\)`).test(x), 'the container exited', 20_000);
  t.false(existsSync(`/proc/${pid}`), 'the process is gone after stop');
  term.keys('d');
  await term.waitFor((x) => x.includes(`Remove ${name}?`), 'the confirmation');
  term.keys('y');
  await term.waitFor((x) => x.includes(`removed ${name}`), 'removed');
  t.false(listed(name, true), '`nsbox ps -a` no longer lists it');
  term.keys('q');
  await term.waitFor((x) => x.includes('TUI-EXIT 0'), 'the TUI to exit 0');
});
