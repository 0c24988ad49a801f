/** Lifecycle events from the state root's events.jsonl (appended by monitors and `delete`). */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LifecycleEvent {
  /** `oom`: the OOM killer killed a process of the container (recorded before its `exit`). */
  type: 'create' | 'start' | 'oom' | 'exit' | 'remove';
  /** RFC 3339, UTC. */
  time: string;
  id: string;
  name: string;
  /** For `exit`. */
  exitCode?: number | null;
  signal?: string | null;
  /** For `exit`: the OOM killer killed a process of the container. */
  oomKilled?: boolean;
}

export interface EventOptions {
  /** Also yield the events already recorded (default: only new ones). */
  past?: boolean;
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
  let offset = o.past ? 0 : size();
  let partial = '';
  while (!o.signal?.aborted) {
    const end = size();
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
        try {
          if (l) yield JSON.parse(l) as LifecycleEvent;
        } catch {
          /* a torn line from a crashed writer */
        }
      }
      continue;
    }
    await sleep(o.interval ?? 50, undefined, { signal: o.signal }).catch(() => {});
  }
}
