/**
 * Learn mode's zero-leftover guarantee on the dashboard's side: every StepSession a Learn view opens, and
 * every run() still starting one, goes through here, so the dashboard's way out (q, ^C, SIGTERM/SIGHUP:
 * runTui calls api.close()) can abort the runs and close the sessions even when no React cleanup got to
 * run, or ran but could not be awaited.
 */
import { AbortError, type LearnOptions, type LearnStep, type StepSession } from 'nsbox';

export class LearnSessions {
  private readonly open = new Set<StepSession>();
  private readonly running = new Set<{ ac: AbortController; done: Promise<unknown> }>();
  /** Sessions still closing: a new run waits for them (a view left and entered again must not overlap two labs). */
  private readonly closingNow = new Set<Promise<void>>();
  private closing?: Promise<void>;

  /** The same steps, whose run() is tracked; everything else is the library's own. */
  wrap(steps: LearnStep[]): LearnStep[] {
    return steps.map((step) => ({
      id: step.id, section: step.section, title: step.title, claim: step.claim, commands: step.commands,
      extraOptions: step.extraOptions,
      supported: () => step.supported(),
      run: (o?: LearnOptions) => this.run(step, o),
    }));
  }

  private run(step: LearnStep, o: LearnOptions = {}): Promise<StepSession> {
    if (this.closing) return Promise.reject(closingError(step));
    // Our own signal, tied to the caller's: closeAll() aborts runs the view could not.
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(o.signal?.reason);
    if (o.signal?.aborted) ac.abort(o.signal.reason);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (async () => {
      try {
        await Promise.allSettled([...this.closingNow]);
        if (ac.signal.aborted) throw new AbortError(ac.signal.reason);
        const session = await step.run({ ...o, signal: ac.signal });
        // closeAll() began meanwhile: this session is not in `open`, so it is closed here (closeAll waits for it).
        if (this.closing) { await session.close(); throw closingError(step); }
        return this.track(session);
      } finally {
        o.signal?.removeEventListener('abort', onAbort);
      }
    })();
    const entry = { ac, done };
    this.running.add(entry);
    void done.finally(() => this.running.delete(entry)).catch(() => {});
    return done;
  }

  /** close() once, whoever asks first (the view leaving the step, or closeAll). */
  private track(session: StepSession): StepSession {
    let closed: Promise<void> | undefined;
    const tracked: StepSession = {
      step: session.step, verdict: session.verdict, evidence: session.evidence, containers: session.containers,
      exec: (command, containerId) => session.exec(command, containerId),
      close: () => {
        if (!closed) {
          const p = session.close().finally(() => { this.open.delete(tracked); this.closingNow.delete(p); });
          this.closingNow.add(p);
          closed = p;
        }
        return closed;
      },
    };
    this.open.add(tracked);
    return tracked;
  }

  /** Aborts every run, closes every session; collects every failure and throws them together. */
  async closeAll(): Promise<void> {
    this.closing ??= (async () => {
      const failures: unknown[] = [];
      for (const r of this.running) r.ac.abort(new Error('the dashboard is closing'));
      await Promise.allSettled([...this.running].map((r) => r.done));
      for (const r of await Promise.allSettled([...this.open].map((s) => s.close()))) if (r.status === 'rejected') failures.push(r.reason);
      if (failures.length) throw new AggregateError(failures, `learn: ${failures.length} session(s) failed to close`);
    })();
    return this.closing;
  }
}

const closingError = (step: LearnStep): Error => Object.assign(new Error(`${step.id}: the dashboard is closing`), { code: 'ECLOSING' });
