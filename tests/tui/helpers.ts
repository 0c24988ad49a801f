/**
 * Mounting the dashboard on fake streams (as ink-testing-library does, plus the instance, so a test can
 * see the app exit and read ink's render metrics) and driving it with keys.
 */
import { EventEmitter } from 'node:events';
import { render, type Instance } from 'ink';
import { createElement } from 'react';
import type { DashboardApi } from '../../cli/src/tui/api.js';
import { App, type AppProps } from '../../cli/src/tui/components/app.js';

export const KEY = {
  up: '\x1b[A', down: '\x1b[B', right: '\x1b[C', left: '\x1b[D', enter: '\r', esc: '\x1b', tab: '\t',
  backspace: '\x7f', pageDown: '\x1b[6~', pageUp: '\x1b[5~', space: ' ',
} as const;

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FakeStdout extends EventEmitter {
  frames: string[] = [];
  writes: number[] = [];
  constructor(public columns = 110, public rows = 32) { super(); }
  get isTTY(): boolean { return true; }
  write = (frame: string): boolean => {
    // Cursor show/hide and other bare control sequences are not frames.
    if (/^(\x1b\[[?0-9;]*[a-zA-Z])+$/.test(frame)) return true;
    this.frames.push(frame);
    this.writes.push(performance.now());
    return true;
  };
  last = (): string => this.frames[this.frames.length - 1] ?? '';
}

export class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write = (data: string): void => { this.data = data; this.emit('readable'); this.emit('data', data); };
  read = (): string | null => { const d = this.data; this.data = null; return d; };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export interface Mounted {
  instance: Instance;
  stdout: FakeStdout;
  frame: () => string;
  /** Writes each key separately (an Esc must not run into the next key) and lets the app settle. */
  press: (...keys: string[]) => Promise<void>;
  /** Writes `text` as one chunk, as a paste or fast typing arrives. */
  type: (text: string) => Promise<void>;
  /** Resolves with the frame once `pred(frame)` holds; rejects with the last frame after `ms`. */
  waitFor: (pred: (frame: string) => boolean, ms?: number) => Promise<string>;
  exited: () => boolean;
  unmount: () => void;
}

export interface MountOptions extends Partial<AppProps> {
  onRender?: (m: { renderTime: number }) => void;
  debug?: boolean;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g;
export const stripAnsi = (s: string): string => s.replace(ANSI, '');

/** Mounts the app for one test; it is unmounted when the test ends, pass or fail. */
export function mount(t: { teardown: (fn: () => void) => void }, api: DashboardApi, opts: MountOptions = {}): Mounted {
  const { onRender, debug = true, ...props } = opts;
  const stdout = new FakeStdout(props.size?.columns ?? 110, props.size?.rows ?? 32);
  const stdin = new FakeStdin();
  const instance = render(
    createElement(App, { api, size: { columns: 110, rows: 32 }, refreshMs: 100, clock: () => Date.UTC(2026, 0, 1, 1), ...props }),
    { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, debug, exitOnCtrlC: false, patchConsole: false, onRender },
  );
  let exited = false;
  void instance.waitUntilExit().then(() => { exited = true; }, () => { exited = true; });
  const frame = (): string => stripAnsi(stdout.last());
  const waitFor = async (pred: (f: string) => boolean, ms = 3000): Promise<string> => {
    const end = Date.now() + ms;
    for (;;) {
      const f = frame();
      if (pred(f)) return f;
      if (Date.now() > end) throw new Error(`timed out waiting; last frame:\n${f}`);
      await delay(10);
    }
  };
  const press = async (...keys: string[]): Promise<void> => {
    for (const k of keys) { stdin.write(k); await delay(30); }
  };
  const type = async (text: string): Promise<void> => { stdin.write(text); await delay(30); };
  t.teardown(() => instance.unmount());
  return { instance, stdout, frame, press, type, waitFor, exited: () => exited, unmount: () => instance.unmount() };
}

export const has = (s: string | RegExp) => (f: string): boolean => (typeof s === 'string' ? f.includes(s) : s.test(f));
export const lacks = (s: string) => (f: string): boolean => !f.includes(s);
