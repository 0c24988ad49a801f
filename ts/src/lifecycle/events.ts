/**
 * Lifecycle events from the state root's events.jsonl: `create`/`start` (the monitor, or
 * nsbox-runtime's create/start), `oom` (the monitor, as the kernel kills), `exit` (the monitor),
 * `kill`/`pause`/`unpause` (nsbox-runtime's kill, pause and resume) and `remove` (`delete`, or the
 * monitor with `rm`).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LifecycleEvent {
  /**
   * `oom`: the OOM killer killed a process of the container, recorded as it happens (the container
   * may live on: a child was killed) and, for the kill that ended it, before its `exit`.
   */
  type: 'create' | 'start' | 'oom' | 'kill' | 'pause' | 'unpause' | 'exit' | 'remove';
  /** RFC 3339, UTC. */
  time: string;
  id: string;
  name: string;
  /** For `exit`. */
  exitCode?: number | null;
  /** For `exit` (the signal that ended it) and `kill` (the signal sent), e.g. `SIGKILL`. */
  signal?: string | null;
  /** For `exit`: the OOM killer killed a process of the container. */
  oomKilled?: boolean;
}

export interface EventOptions {
  /** Also yield the events already recorded (default: only new ones). */
  past?: boolean;
  /** Only events at or after this time (implies `past` when it lies in the past). */
  since?: Date;
  /** Only events before this time; the iterator ends once it has passed. */
  until?: Date;
  signal?: AbortSignal;
  /** Polling interval, ms (default 50). */
  interval?: number;
}

export async function* readEvents(root: string, o: EventOptions = {}): AsyncGenerator<LifecycleEvent> {
  const file = path.join(root, 'events.jsonl');
  const size = () => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const since = o.since?.getTime();
  const until = o.until?.getTime();
  let offset = o.past || since !== undefined ? 0 : size();
  let partial = '';
  const wanted = (e: LifecycleEvent) => {
    const at = Date.parse(e.time);
    return (since === undefined || at >= since) && (until === undefined || at < until);
  };
  while (!o.signal?.aborted) {
    const end = size();
    // Everything before `until` has been written once it has passed (lines are appended in order).
    const over = until !== undefined && Date.now() >= until;
    if (end < offset) offset = 0;
    if (end > offset) {
      const fd = openSync(file, 'r');
      const buf = Buffer.alloc(end - offset);
      const n = readSync(fd, buf, 0, buf.length, offset);
      closeSync(fd);
      offset += n;
      const lines = (partial + buf.subarray(0, n).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        let e: LifecycleEvent;
        try {
          if (!l) continue;
          e = JSON.parse(l) as LifecycleEvent;
        } catch {
          continue; /* a torn line from a crashed writer */
        }
        if (wanted(e)) yield e;
      }
      continue;
    }
    if (over) return;
    await sleep(o.interval ?? 50, undefined, { signal: o.signal }).catch(() => {});
  }
}
