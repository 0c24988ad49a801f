import { useInput, type Key } from 'ink';
import { useLayoutEffect, useRef, useState } from 'react';

/**
 * ink's useInput, at most one key per render: a key arriving before the previous key's render is
 * queued and handled after it, so every handler sees the state the previous key left (arrow bursts,
 * keys typed faster than a frame). Handled in layout effects, i.e. in the commit, before any frame.
 */
export function useKeyQueue(handler: (input: string, key: Key) => void): void {
  const [, setTick] = useState(0);
  const queue = useRef<Array<[string, Key]>>([]);
  const busy = useRef(false);
  // ink re-subscribes useInput in a passive effect, so its closure can be a render old: go through a ref.
  const ref = useRef(handler);
  ref.current = handler;
  useInput((input, key) => {
    if (!busy.current && queue.current.length === 0) { busy.current = true; ref.current(input, key); return; }
    queue.current.push([input, key]);
    setTick((t) => t + 1);
  });
  useLayoutEffect(() => {
    busy.current = false;
    const next = queue.current.shift();
    if (!next) return;
    busy.current = true;
    ref.current(...next);
    if (queue.current.length) setTick((t) => t + 1);
  });
}
