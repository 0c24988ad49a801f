/**
 * `nsbox tui`: a full-screen dashboard. Enters the alternate screen, renders the ink app sized to the
 * terminal, and restores the terminal on every way out (q, ^C, SIGTERM/SIGHUP, an exception).
 * `e` (exec a shell) unmounts the app, leaves the alternate screen, runs the shell on the real
 * terminal, and mounts the app again where it was.
 */
import { closeSync, openSync } from 'node:fs';
import tty from 'node:tty';
import { render } from 'ink';
import { createElement } from 'react';
import { errorMessage, type DashboardApi } from './api.js';
import type { ClaimId, Lang } from 'nsbox';
import { App, type UiState } from './components/app.js';
import { initialLearn } from './components/learn/learn-view.js';
import type { Message } from './components/status-bar.js';

export interface RunTuiOptions {
  /** Default: the real API over the `nsbox` package. */
  api?: DashboardApi;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  refreshMs?: number;
  /** State root for the real API (default: NSBOX_ROOT, else the runtime's default). */
  root?: string;
  /** `nsbox learn`: open on the Learn view, at this step (default S1), in this language (default en). */
  learn?: { step?: ClaimId; lang?: Lang };
}

/** Ways out that are not a key (^C in raw mode is one): each closes the API, i.e. ends the learn sessions. */
const SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
const ENTER = '\x1b[?1049h\x1b[H\x1b[2J\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export async function runTui(opts: RunTuiOptions = {}): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  if (!(opts.stdin ? opts.stdin.isTTY : tty.isatty(0)) || !stdout.isTTY) {
    process.stderr.write('nsbox: tui: needs a terminal (stdin and stdout must be a tty); use `nsbox ps --format json` in scripts\n');
    return 1;
  }
  const api = opts.api ?? new (await import('./real-api.js')).RealApi(undefined, opts.root === undefined ? {} : { root: opts.root });
  let screen = false;
  const enter = (): void => { if (!screen) { stdout.write(ENTER); screen = true; } };
  const leave = (): void => { if (screen) { stdout.write(LEAVE); screen = false; } };
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    // Listeners stay on (not `once`) until the close is done: ink's signal-exit re-raises a signal when
    // it counts itself the only listener (it counts exit callbacks, not listeners), and that second
    // delivery must land here, not kill us before api.close() has removed the learn sessions' containers.
    if (signalled) return;
    signalled = true;
    // A hung-up terminal fails every write and read with EIO: nothing more to draw, no reason to crash.
    stdout.on('error', () => {});
    leave();
    const code = 128 + (sig === 'SIGHUP' ? 1 : sig === 'SIGINT' ? 2 : 15);
    void (api.close?.() ?? Promise.resolve())
      .catch((e: unknown) => { process.stderr.write(`nsbox: tui: ${errorMessage(e)}\n`); })
      .finally(() => process.exit(code));
  };
  process.on('exit', leave);
  for (const sig of SIGNALS) process.on(sig, onSignal);

  let state: Partial<UiState> | undefined = opts.learn ? { view: 'learn', learn: initialLearn(opts.learn) } : undefined;
  let notice: Message | undefined;
  try {
    for (;;) {
      let exec: { id: string; state: UiState } | undefined;
      // Our own handle on the terminal (a second open of fd 0's tty), closed before a shell runs: a
      // tty stream keeps reading ahead after ink lets go of it, and would eat the shell's keystrokes.
      // (libuv reopens the tty for its handle and dup2s it over our fd, so the fd stays ours to close.)
      const fd = opts.stdin ? -1 : openSync('/proc/self/fd/0', 'r');
      const stdin = opts.stdin ?? (new tty.ReadStream(fd) as NodeJS.ReadStream);
      if (!opts.stdin) stdin.on('error', () => { /* EIO after a hangup: the signal handler takes it from here */ });
      enter();
      const instance = render(createElement(App, {
        api, refreshMs: opts.refreshMs, initial: state, notice,
        onExec: (id: string, s: UiState) => { exec = { id, state: s }; instance.unmount(); },
      }), { stdin, stdout, exitOnCtrlC: true, patchConsole: true, maxFps: 30 });
      await instance.waitUntilExit().finally(() => {
        if (opts.stdin) return;
        stdin.setRawMode?.(false);
        stdin.destroy();
        try { closeSync(fd); } catch { /* already closed */ }
      });
      if (!exec) return 0;
      const { id, state: s } = exec;
      state = s;
      leave();
      try {
        const code = await api.execShell(id);
        notice = { kind: 'info', text: `shell exited with code ${code}` };
      } catch (e) {
        notice = { kind: 'error', text: `exec failed: ${errorMessage(e)}` };
      }
    }
  } catch (e) {
    leave();
    process.stderr.write(`nsbox: tui: ${errorMessage(e)}\n`);
    return 1;
  } finally {
    leave();
    process.off('exit', leave);
    for (const sig of SIGNALS) process.off(sig, onSignal);
    await api.close?.().catch(() => {});
  }
}

export type { DashboardApi } from './api.js';
