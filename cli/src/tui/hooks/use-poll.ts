import { useCallback, useEffect, useRef, useState } from 'react';

export interface Polled<T> { data?: T; error?: unknown; loading: boolean; refresh: () => void }

/**
 * Calls `fn` now and every `ms` milliseconds (never two calls at once) until unmount or a change of `key`.
 * Keeps the last good data when a later call fails.
 */
export function usePoll<T>(fn: () => Promise<T>, ms: number, key: string): Polled<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const tick = useRef<() => void>(() => {});
  useEffect(() => {
    let alive = true;
    let running = false;
    let again = false;
    let timer: NodeJS.Timeout | undefined;
    setState({ loading: true });
    const run = (): void => {
      if (running) { again = true; return; }
      running = true;
      clearTimeout(timer);
      fnRef.current().then(
        (data) => { if (alive) setState({ data, loading: false }); },
        (error: unknown) => { if (alive) setState((s) => ({ data: s.data, error, loading: false })); },
      ).finally(() => {
        running = false;
        if (!alive) return;
        if (again) { again = false; run(); } else timer = setTimeout(run, ms);
      });
    };
    tick.current = run;
    run();
    return () => { alive = false; clearTimeout(timer); tick.current = () => {}; };
  }, [ms, key]);
  const refresh = useCallback(() => tick.current(), []);
  return { ...state, refresh };
}
