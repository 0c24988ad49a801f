/**
 * Pull and push progress as docker shows it: on a terminal one line per layer redrawn in place
 * (`a1b2c3d4e5f6: Downloading [=====>    ]  1.2MB/3.4MB`); otherwise one line per change of state
 * (`a1b2c3d4e5f6: Pull complete`), which is what docker prints into a pipe or a log.
 */
import type { ProgressEvent } from 'nsbox';

const WORDS: Record<string, string> = {
  waiting: 'Pulling fs layer',
  exists: 'Already exists',
  downloading: 'Downloading',
  extracting: 'Download complete',
  complete: 'Pull complete',
  pushing: 'Pushing',
  pushed: 'Pushed',
};

export const shortId = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}

function bar(current: number, total: number, width = 30): string {
  const done = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  return `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}]`;
}

interface Row {
  id: string;
  state: string;
  current: number;
  total: number;
  /** The repository a push mounted the layer from. */
  from?: string;
}

/** Layer rows; `exists` for push is docker's "Layer already exists". */
export class ProgressPrinter {
  private rows = new Map<string, Row>();
  /** The image's layers (the config blob has events too, but docker shows layers only). */
  private layers = new Set<string>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean,
    private readonly push = false,
  ) {}

  private word(state: string, from?: string): string {
    if (this.push && state === 'exists') return 'Layer already exists';
    if (state === 'mounted') return `Mounted from ${from ?? 'another repository'}`;
    return WORDS[state] ?? state;
  }

  handle = (e: ProgressEvent): void => {
    if (e.kind === 'resolved') {
      for (const l of e.layers) this.layers.add(l.digest);
      return;
    }
    if (!this.layers.has(e.digest)) return;
    const prev = this.rows.get(e.digest);
    // Pushes announce layers only once they start; pulls list them all as waiting first.
    const row: Row = { id: shortId(e.digest), state: e.state, current: e.current, total: e.total, from: e.from };
    this.rows.set(e.digest, row);
    if (!this.tty) {
      if (prev?.state !== e.state && !(e.state === 'downloading' || e.state === 'pushing')) this.out.write(`${row.id}: ${this.word(e.state, e.from)}\n`);
      return;
    }
    this.timer ??= setTimeout(() => this.draw(), 100);
  };

  private line(r: Row): string {
    if (r.state === 'downloading' || r.state === 'pushing') {
      return `${r.id}: ${this.word(r.state)} ${bar(r.current, r.total)}  ${humanSize(r.current)}/${humanSize(r.total)}`;
    }
    return `${r.id}: ${this.word(r.state, r.from)}`;
  }

  private draw(): void {
    this.timer = undefined;
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const r of this.rows.values()) s += `\x1b[2K${this.line(r)}\n`;
    this.drawn = this.rows.size;
    this.out.write(s);
  }

  /** Draws the last state (on a terminal) and stops the timer. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.tty && this.rows.size > 0) this.draw();
  }
}
