/**
 * `run -t` in a real terminal (a tmux pane, 120×40): the command gets a pty of the container's own
 * devpts as its controlling terminal, with the caller's window size; keystrokes reach it, its output
 * comes back, and its exit code is the CLI's; when the terminal goes away, so does the container.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';

import { CLI } from './helpers/cli.js';
import { needsRoot } from './helpers/privileged.js';
import { makeBusyboxRootfs } from './helpers/rootfs.js';
import { Terminal } from './tui/e2e-terminal.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Command lines (pid and args) of live processes whose arguments contain `marker`. */
function processesWith(marker: string): string[] {
  const r = spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l && !l.includes('pgrep'));
}

let sessions = 0;

/** Runs `nsbox run FLAGS --rm --rootfs R -- /bin/sh -c SCRIPT` in a fresh 120×40 tmux pane; the pane prints `rc=N` after. */
function inTerminal(flags: string[], rootfs: string, state: string, script: string): Terminal {
  const cli = [process.execPath, CLI, 'run', ...flags, '--rm', '--rootfs', rootfs, '--', '/bin/sh', '-c', script].map(quote).join(' ');
  return Terminal.open(`nsbox-tty-${process.pid}-${++sessions}`, `sh -c ${quote(`NSBOX_ROOT=${state} ${cli}; echo "rc=$?"; sleep 60`)}`);
}

test('run -t / -it: a pty of the container as controlling terminal, window size, input, exit code', async (t) => {
  if (!needsRoot(t)) return;
  const rootfs = makeBusyboxRootfs();
  const state = mkdtempSync(path.join(tmpdir(), 'nsbox-tty-'));
  const terms: Terminal[] = [];
  try {
    // -t alone (docker's `run -t`): a terminal, with the caller's size, but no input forwarded.
    const t1 = inTerminal(['-t'], rootfs.root, state, 'tty; stty size; exit 4');
    terms.push(t1);
    const out = await t1.waitFor((s) => /^rc=\d+/m.test(s), 'run -t to exit');
    t.regex(out, /^\/dev\/pts\/0$/m, 'its own devpts: the first pty there');
    t.regex(out, /^40 120$/m, 'the window size of the terminal (rows cols), also without -i');
    t.regex(out, /^rc=4$/m, "the command's exit code is the CLI's");

    // -it: keystrokes reach the command through the pty.
    const t2 = inTerminal(['-it'], rootfs.root, state, '[ -t 0 ] && echo stdin-is-a-tty; read line; echo "got:$line"; exit 3');
    terms.push(t2);
    await t2.waitFor((s) => s.includes('stdin-is-a-tty'), 'the container to start on its tty');
    t2.text('hello');
    t2.keys('Enter');
    const screen = await t2.waitFor((s) => /^rc=\d+/m.test(s), 'run -it to exit');
    t.regex(screen, /^got:hello$/m, 'typed input reached the command');
    t.regex(screen, /^rc=3$/m);

    // The terminal goes away (window closed) while the command waits on it: the container's terminal
    // is hung up too, so nothing is left behind, although PID 1 ignores SIGHUP.
    const marker = `hangup-${process.pid}`;
    const t3 = inTerminal(['-it'], rootfs.root, state, `echo ${marker}-ready; read line # ${marker}`);
    terms.push(t3);
    await t3.waitFor((s) => s.includes(`${marker}-ready`), 'the container to wait for input');
    t.true(processesWith(marker).length > 0);
    t3.close();
    const end = Date.now() + 10_000;
    while (processesWith(marker).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    t.deepEqual(processesWith(marker), [], 'CLI, runtime and container all ended with the terminal');
  } finally {
    for (const term of terms) term.close();
    rootfs.remove();
    rmSync(state, { recursive: true, force: true });
  }
});
