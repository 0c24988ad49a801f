/**
 * TEMPORARY (branch learntui): a stand-in so the TUI's Learn view compiles before the `learn` branch's
 * library exists. Drop this file at merge in favour of the `learn` branch's ts/src/learn/index.ts.
 */
import type { LearnStep } from './types.js';

export * from './types.js';

/** The real one (branch `learn`) builds one step per claim S1–S15; this stand-in has none. */
export function learnSteps(): LearnStep[] {
  return [];
}
