/**
 * A detached container's log: JSON lines `{stream, time, log}` in container.log (and the rotated
 * container.log.1), written by its monitor. Read from any process; `follow` keeps reading until
 * the container has ended and everything it wrote has been read.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
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

function parse(line: string): LogEntry | null {
  try {
    const o = JSON.parse(line) as LogEntry;
    return typeof o.log === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** The file being followed, held open: after a rotation it is still readable to its end, and its inode
 * number cannot be reused by a newer file (a path-and-inode check alone can mistake one for the other). */
interface Followed {
  fd: number;
  ino: number;
  offset: number;
}

function openFollowed(path: string, offset = 0): Followed | null {
  try {
    const fd = openSync(path, 'r');
    return { fd, ino: fstatSync(fd).ino, offset };
  } catch {
    return null;
  }
}

/** Whole lines from the followed file's offset to its current end. */
function readMore(f: Followed): string[] {
  const size = fstatSync(f.fd).size;
  if (size <= f.offset) return [];
  const buf = Buffer.alloc(size - f.offset);
  const n = readSync(f.fd, buf, 0, buf.length, f.offset);
  const text = buf.subarray(0, n).toString('utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  f.offset += Buffer.byteLength(text.slice(0, end + 1));
  return text.slice(0, end).split('\n').filter((l) => l !== '');
}

/** Every whole line of `path` (none when it does not exist). */
function readAll(path: string): string[] {
  const f = openFollowed(path);
  if (!f) return [];
  try {
    return readMore(f);
  } finally {
    closeSync(f.fd);
  }
}

function inodeOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/**
 * Yields the log's entries, oldest first. `isDone` tells a follower that the container has ended
 * (its monitor writes nothing more after that).
 */
export async function* readLog(logPath: string, isDone: () => boolean, o: LogOptions = {}): AsyncGenerator<LogEntry> {
  const entries = (lines: string[]): LogEntry[] => lines.map(parse).filter((e): e is LogEntry => e !== null);
  // Ours first, then .1 unless it is ours (rotated in between): nothing is read twice.
  let cur = o.follow ? openFollowed(logPath) : null;
  const rotated = cur && inodeOf(`${logPath}.1`) === cur.ino ? [] : readAll(`${logPath}.1`);
  // Following and not there yet: the loop opens it and reads it from its start.
  const now = cur ? readMore(cur) : o.follow ? [] : readAll(logPath);
  let first = entries([...rotated, ...now]);
  if (o.tail !== undefined) first = o.tail <= 0 ? [] : first.slice(-o.tail);
  yield* first;
  if (!o.follow) return;
  // The end needs two quiet looks after the container ended, so that one odd answer of isDone()
  // (state read at a bad moment) cannot cut the output short.
  let quietAfterEnd = 0;
  try {
    for (;;) {
      if (o.signal?.aborted) return;
      const done = isDone();
      cur ??= openFollowed(logPath);
      const lines = cur ? readMore(cur) : [];
      yield* entries(lines);
      // Rotated since we opened ours: finish ours (the monitor writes only to the new file now);
      // if it rotated twice, the file in between is .1 now: read it whole; then follow the new one.
      const ino = inodeOf(logPath);
      if (cur && ino !== null && ino !== cur.ino) {
        yield* entries(readMore(cur));
        const between = openFollowed(`${logPath}.1`);
        if (between && between.ino !== cur.ino) yield* entries(readMore(between));
        if (between) closeSync(between.fd);
        closeSync(cur.fd);
        cur = openFollowed(logPath);
        continue;
      }
      quietAfterEnd = done && lines.length === 0 ? quietAfterEnd + 1 : 0;
      if (quietAfterEnd >= 2) return;
      if (lines.length === 0) await sleep(o.interval ?? 50, undefined, { signal: o.signal }).catch(() => {});
    }
  } finally {
    if (cur) closeSync(cur.fd);
  }
}
