/** A tmux session as a real terminal for end-to-end tests of the dashboard. */
import { execFileSync } from 'node:child_process';
import { REPO } from '../helpers/cli.js';
import { delay } from './helpers.js';

const run = (socket: string | undefined, args: string[]): string =>
  execFileSync('tmux', socket ? ['-S', socket, ...args] : args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export class Terminal {
  /** `socket`: the path of a tmux server of the test's own (`tmux -S`, in the test's temp dir), so no other test's last session can stop it under us. */
  constructor(readonly session: string, readonly socket?: string) {}
  static open(session: string, command: string, opts: { socket?: string } = {}): Terminal {
    run(opts.socket, ['new-session', '-d', '-s', session, '-x', '120', '-y', '40', '-c', REPO, command]);
    return new Terminal(session, opts.socket);
  }
  private tmux(...args: string[]): string { return run(this.socket, args); }
  /** The pane's process (the command given to open()). */
  pid(): number { return Number(this.tmux('display', '-p', '-t', this.session, '#{pane_pid}').trim()); }
  /**
   * Whether the pane's terminal is in raw mode: ink turns it on in an effect, after its first frame, and
   * a key sent before that goes through the cooked line discipline (Enter arrives as "\n", not Return).
   */
  raw(): boolean {
    const tty = this.tmux('display', '-p', '-t', this.session, '#{pane_tty}').trim();
    return /(^|\s)-icanon(\s|$)/.test(execFileSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' }));
  }
  screen(): string { return this.tmux('capture-pane', '-p', '-t', this.session); }
  /** Whether the pane is on the alternate screen, and whether its cursor is visible. */
  modes(): { alternate: boolean; cursor: boolean } {
    const [alt, cur] = this.tmux('display', '-p', '-t', this.session, '#{alternate_on} #{cursor_flag}').trim().split(' ');
    return { alternate: alt === '1', cursor: cur === '1' };
  }
  keys(...keys: string[]): void { this.tmux('send-keys', '-t', this.session, ...keys); }
  text(s: string): void { this.tmux('send-keys', '-t', this.session, '-l', s); }
  /**
   * Waits for a screen of the TUI and then for raw mode: ink turns it on after its first frame, and
   * keys sent before that go through the cooked line discipline ('/' and Enter are then not keys).
   */
  async settled(pred: (screen: string) => boolean, what: string): Promise<string> {
    const s = await this.waitFor(pred, what);
    for (let i = 0; i < 100 && !this.raw(); i++) await delay(50);
    if (!this.raw()) throw new Error(`the terminal never went raw after ${what}`);
    return s;
  }
  async waitFor(pred: (screen: string) => boolean, what: string, ms = 45_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (pred(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${s}\nprocesses in the pane:\n${this.processes()}`);
      await delay(100);
    }
  }
  /** What the pane's processes are doing (state, kernel wait channel): the clue when a screen never comes. */
  processes(): string {
    try {
      const pid = this.tmux('display', '-p', '-t', this.session, '#{pane_pid}').trim();
      return execFileSync('ps', ['-o', 'pid,stat,wchan:32,etime,args', '--ppid', pid, '-p', pid], { encoding: 'utf8' });
    } catch (e) {
      return `(unavailable: ${(e as Error).message})`;
    }
  }
  close(): void { try { this.tmux('kill-session', '-t', this.session); } catch { /* already gone */ } }
}
