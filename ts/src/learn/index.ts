/**
 * Learn mode: one step per claim of the seed article (S1–S15), each running real containers through
 * this library and checking the claim against the kernel's own evidence. See docs/learn.md.
 */
import { runInLab } from './lab.js';
import { s12, s13, s14, s15 } from './steps/bridge.js';
import type { StepDef } from './steps/def.js';
import { s4 } from './steps/ipc.js';
import { s5 } from './steps/mount.js';
import { s2, s3 } from './steps/namespaces.js';
import { s6 } from './steps/net.js';
import { s1, s10 } from './steps/pid.js';
import { s11 } from './steps/time.js';
import { s7, s8 } from './steps/user.js';
import { s9 } from './steps/uts.js';
import type { LearnStep } from './types.js';

export * from './types.js';
export { sweepStale as sweepLearnLeftovers } from './lab.js';

const DEFS: StepDef[] = [s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15];

/** The steps, S1 … S15 in order. The first run() in a process removes what killed sessions left. */
export function learnSteps(): LearnStep[] {
  return DEFS.map(({ body, supported, ...rest }) => ({
    ...rest,
    async supported() {
      try {
        return await supported();
      } catch (e) {
        return { ok: false, reason: { en: `could not check: ${String(e)}`, zh: `无法检查：${String(e)}` } };
      }
    },
    run: (o = {}) => runInLab(rest.id, o, body),
  }));
}
