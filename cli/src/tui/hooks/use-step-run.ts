import type { LearnStep, StepSession, Text } from 'nsbox';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../api.js';
import type { Message } from '../components/status-bar.js';

export type RunState =
  | { phase: 'idle' }
  | { phase: 'running' }
  | { phase: 'done'; session: StepSession }
  | { phase: 'error'; message: string }
  | { phase: 'unsupported'; reason: Text };

interface Generation { step: LearnStep; ac: AbortController; session?: StepSession; left: boolean }

/**
 * One step's run and its session. Leaving the step (another step, another view, unmount) aborts a run
 * still starting and closes the session; a new run waits until the previous session is closed, so two
 * steps' containers and bridges never overlap. Errors go to `onMessage` (the status bar).
 */
export function useStepRun(step: LearnStep | undefined, onMessage: (m: Message) => void,
  onResult: (id: string, mark: 'shown' | 'failed' | 'error') => void) {
  // Tagged with its step, so a step just moved to reads as idle without an effect resetting it (an
  // effect could run after a fast Enter's result and wipe it).
  const [tagged, setTagged] = useState<{ step?: LearnStep; run: RunState }>({ run: { phase: 'idle' } });
  const current = useRef<Generation | undefined>(undefined);
  const closing = useRef<Promise<void>>(Promise.resolve());
  const notify = useRef({ onMessage, onResult });
  notify.current = { onMessage, onResult };

  const leave = useCallback((g: Generation | undefined): void => {
    if (!g) return;
    g.left = true;
    g.ac.abort(new Error('the step was left'));
    const s = g.session;
    g.session = undefined;
    if (!s) return;
    closing.current = closing.current.then(() => s.close()).catch((e: unknown) => {
      notify.current.onMessage({ kind: 'error', text: `${s.step}: closing its containers failed: ${errorMessage(e)}` });
    });
  }, []);

  useEffect(() => () => {
    // A step left reads as not run: its session is closed.
    setTagged((t) => (t.step === step ? { run: { phase: 'idle' } } : t));
    // Only this step's run: a key may already have started the next step's before this cleanup runs.
    if (current.current?.step !== step) return;
    leave(current.current);
    current.current = undefined;
  }, [step, leave]);

  const run = useCallback(async (): Promise<void> => {
    if (!step) return;
    const setState = (run: RunState): void => setTagged({ step, run });
    const support = await step.supported();
    if (!support.ok) { setState({ phase: 'unsupported', reason: support.reason }); return; }
    leave(current.current);
    const g: Generation = { step, ac: new AbortController(), left: false };
    current.current = g;
    setState({ phase: 'running' });
    notify.current.onMessage({ kind: 'busy', text: `running ${step.id}…` });
    try {
      await closing.current;
      const session = await step.run({ signal: g.ac.signal });
      if (g.left || current.current !== g) { closing.current = closing.current.then(() => session.close()).catch(() => {}); return; }
      g.session = session;
      setState({ phase: 'done', session });
      notify.current.onResult(step.id, session.verdict.shown ? 'shown' : 'failed');
      notify.current.onMessage({ kind: 'info', text: `${step.id} ${session.verdict.shown ? 'shown' : 'not shown'}` });
    } catch (e) {
      if (g.left || current.current !== g) return;
      setState({ phase: 'error', message: errorMessage(e) });
      notify.current.onResult(step.id, 'error');
      notify.current.onMessage({ kind: 'error', text: `${step.id}: run failed: ${errorMessage(e)}` });
    }
  }, [step, leave]);

  return { state: tagged.step === step ? tagged.run : { phase: 'idle' } as RunState, run };
}
