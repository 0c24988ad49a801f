import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../api.js';
import type { Message } from '../components/status-bar.js';

/**
 * Runs an action, showing "busy" then the result or the error in the status bar; never throws.
 * Messages fade after `keepMs`; errors stay until the next action.
 */
export function useActions(after: () => void, keepMs = 4000) {
  const [message, setMessage] = useState<Message | undefined>();
  const timer = useRef<NodeJS.Timeout | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const show = useCallback((m: Message | undefined) => {
    clearTimeout(timer.current);
    setMessage(m);
    if (m && m.kind === 'info') timer.current = setTimeout(() => setMessage(undefined), keepMs);
  }, [keepMs]);
  const run = useCallback(async (busy: string, done: string, fn: () => Promise<unknown>): Promise<boolean> => {
    show({ kind: 'busy', text: busy });
    try {
      await fn();
      show({ kind: 'info', text: done });
      return true;
    } catch (e) {
      show({ kind: 'error', text: `${busy.replace(/…$/, '')} failed: ${errorMessage(e)}` });
      return false;
    } finally {
      after();
    }
  }, [show, after]);
  return { message, show, run };
}
