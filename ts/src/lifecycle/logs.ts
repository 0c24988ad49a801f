/**
 * A detached container's log: JSON lines `{stream, time, log}` in container.log (and the rotated
 * container.log.1), written by its monitor. Read from any process; `follow` keeps reading until
 * the container has ended and everything it wrote has been read.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, UTC. */
  time: string;
  log: string;
}

export interface LogOptions {
  follow?: boolean;
  /** Only the last N entries (before following). */
  tail?: number;
  /** Stop following when aborted. */
  signal?: AbortSignal;
  /** Polling interval while following, in ms (default 50). */
  interval?: number;
}

/** Reads whole lines from `path` starting at `offset`; returns them and the new offset. */
function readLines(path: string, offset: number): { lines: string[]; offset: number; ino: number | null } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { lines: [], offset, ino: null };
  }
  try {
    const st = statSync(path);
    const size = st.size;
    if (size < offset) offset = 0;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    const n = buf.length ? readSync(fd, buf, 0, buf.length, offset) : 0;
    const text = buf.subarray(0, n).toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end < 0) return { lines: [], offset, ino: st.ino };
    return { lines: text.slice(0, end).split('\n').filter((l) => l !== ''), offset: offset + Buffer.byteLength(text.slice(0, end + 1)), ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

function parse(line: string): LogEntry | null {
  try {
    const o = JSON.parse(line) as LogEntry;
    return typeof o.log === 'string' ? o : null;
  } catch {
    return null;
  }
}

/**
 * Yields the log's entries, oldest first. `isDone` tells a follower that the container has ended
 * (its monitor writes nothing more after that).
 */
export async function* readLog(logPath: string, isDone: () => boolean, o: LogOptions = {}): AsyncGenerator<LogEntry> {
  const rotated = readLines(`${logPath}.1`, 0).lines;
  let cur = readLines(logPath, 0);
  let first = [...rotated, ...cur.lines].map(parse).filter((e): e is LogEntry => e !== null);
  if (o.tail !== undefined) first = o.tail <= 0 ? [] : first.slice(-o.tail);
  yield* first;
  if (!o.follow) return;
  let offset = cur.offset;
  let ino = cur.ino;
  for (;;) {
    if (o.signal?.aborted) return;
    const done = isDone();
    const st = (() => {
      try {
        return statSync(logPath);
      } catch {
        return null;
      }
    })();
    if (st && ino !== null && st.ino !== ino) {
      // Rotated: finish the old file (now .1), then start the new one from its beginning.
      const rest = readLines(`${logPath}.1`, offset);
      for (const l of rest.lines) {
        const e = parse(l);
        if (e) yield e;
      }
      offset = 0;
    }
    cur = readLines(logPath, offset);
    ino = cur.ino ?? ino;
    offset = cur.offset;
    for (const l of cur.lines) {
      const e = parse(l);
      if (e) yield e;
    }
    if (done && cur.lines.length === 0) return;
    if (cur.lines.length === 0) await sleep(o.interval ?? 50, undefined, { signal: o.signal }).catch(() => {});
  }
}
