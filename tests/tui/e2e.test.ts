/**
 * The dashboard in a real terminal (tmux, 120×40) over the real API: create a container from the form
 * (busybox rootfs, --network none), see it listed and its namespaces match /proc/PID/ns, stop it,
 * remove it (confirmed), quit and find the terminal restored. Needs root and tmux; `npm run build` first.
 *
 * Until the lifecycle API lands the real API runs containers with `spawn()` for as long as the dashboard
 * lives; e2e-detached.test.ts.pending covers what detaching adds (see the report in that file).
 */
import { existsSync, readlinkSync } from 'node:fs';
import test from 'ava';
import { CLI } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { makeBusyboxRootfs } from '../helpers/rootfs.js';
import { Terminal } from './e2e-terminal.js';

test('tui in tmux: form → listed with its namespaces → stop → remove → quit', async (t) => {
  if (!needsRoot(t)) return;
  t.true(existsSync(CLI), `build first: ${CLI} is missing`);
  const rootfs = makeBusyboxRootfs();
  t.teardown(() => rootfs.remove());
  const name = `e2e-${process.pid}`;
  const term = Terminal.open(`nsbox-tui-e2e-${process.pid}`, `node ${CLI} tui; echo "TUI-EXIT $?"; sleep 60`);
  t.teardown(() => term.close());

  await term.waitFor((s) => s.includes('[1 Containers]'), 'the dashboard');
  t.deepEqual(term.modes(), { alternate: true, cursor: false }, 'full screen: alternate screen, cursor hidden');
  term.keys('n');
  await term.waitFor((s) => s.includes('New container'), 'the form');
  term.text(name);
  term.keys('Down', 'Right');                       // root: rootfs
  await term.waitFor((s) => s.includes('[rootfs]'), 'rootfs chosen');
  term.keys('Down');
  term.text(rootfs.root);
  term.keys('Down');
  term.text('sleep 1000');
  term.keys('Down');
  term.text('e2ehost');
  term.keys('Down');
  const chosen = (x: string): string | undefined => /network\s.*?\[([^\]]+)\]/.exec(x)?.[1];
  for (let i = 0; i < 8 && chosen(term.screen()) !== 'none'; i++) {
    const before = chosen(term.screen());
    term.keys('Right');
    await term.waitFor((x) => chosen(x) !== before, 'the network choice to move');
  }
  t.is(chosen(term.screen()), 'none');
  term.keys('Down', 'Down', 'Enter');               // namespaces (defaults) → Create
  let s = await term.waitFor((x) => new RegExp(`${name}\\s+[0-9a-f]{12} running\\s+\\d+`).test(x), 'the container running in the list');
  const pid = Number(new RegExp(`${name}\\s+[0-9a-f]{12} running\\s+(\\d+)`).exec(s)![1]);
  t.true(existsSync(`/proc/${pid}`), `pid ${pid} is a live process`);

  term.keys('Enter');
  s = await term.waitFor((x) => x.includes('[Namespaces]') && x.includes('of 8 isolated'), 'the Namespaces tab');
  for (const kind of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']) {
    const inode = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${kind}`))![1];
    t.regex(s, new RegExp(`^${kind}\\s+${inode}\\s+\\d+\\s+isolated`, 'm'), `${kind} namespace ${inode}`);
  }
  term.keys('Right');
  await term.waitFor((x) => x.includes('No endpoints'), 'Network tab: --network none');
  term.keys('Escape');
  await term.waitFor((x) => x.includes('NAME▲'), 'back to the list');

  // e leaves the dashboard for a shell and comes back to it; without Container.exec it comes back with why.
  term.keys('e');
  s = await term.waitFor((x) => x.includes('[1 Containers]') && /shell exited with code|exec failed/.test(x), 'back from e');
  t.regex(s, new RegExp(`› ${name}\\s`), 'the same container is still selected');

  term.keys('s');
  await term.waitFor((x) => new RegExp(`${name}\\s+[0-9a-f]{12} exited\\(\\d+\\)`).test(x), 'the container exited');
  t.false(existsSync(`/proc/${pid}`), 'the process is gone after stop');
  term.keys('d');
  await term.waitFor((x) => x.includes(`Remove ${name}?`), 'the confirmation');
  term.keys('y');
  s = await term.waitFor((x) => x.includes(`removed ${name}`), 'removed');
  t.false(new RegExp(`${name}\\s+[0-9a-f]{12}`).test(s), 'no longer listed');

  term.keys('q');
  s = await term.waitFor((x) => x.includes('TUI-EXIT 0'), 'the TUI to exit 0');
  t.false(s.includes('[1 Containers]'), 'the alternate screen is gone: the terminal shows the shell again');
  t.deepEqual(term.modes(), { alternate: false, cursor: true }, 'terminal restored');
});
