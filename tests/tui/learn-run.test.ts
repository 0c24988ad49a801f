/**
 * Learn mode's way out, without a kernel: RealApi tracks every learn session (LearnSessions), so
 * api.close() — what runTui does on q, ^C, SIGTERM and SIGHUP — aborts runs still starting and closes
 * open sessions, each once, and reports every failure; runTui({ learn }) opens on the Learn view at the
 * step and language asked for, and ^C closes the open session. Fake steps (cli/src/tui/fake-learn.ts).
 * CI budget: 5 s.
 */
import './no-ci.js';
import test from 'ava';
import type { LearnStep, StepSession } from 'nsbox';
import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { FakeLearn } from '../../cli/src/tui/fake-learn.js';
import { runTui } from '../../cli/src/tui/index.js';
import { RealApi } from '../../cli/src/tui/real-api.js';
import { FakeStdin, FakeStdout, KEY, delay, has, mount, stripAnsi } from './helpers.js';

const realOver = (learn: FakeLearn): RealApi => new RealApi({ learnSteps: () => learn.steps } as never);
const step = (api: RealApi, id: string): LearnStep => api.learnSteps().find((s) => s.id === id)!;

test('RealApi: close() closes the open sessions, each once, also when the view closed it first', async (t) => {
  const learn = new FakeLearn();
  const api = realOver(learn);
  t.is(api.learnSteps(), api.learnSteps(), 'the same steps every call (the view keys its state on them)');
  t.deepEqual(api.learnSteps().map((s) => s.id), learn.steps.map((s) => s.id));
  const a = await step(api, 'S1').run();
  const b = await step(api, 'S2').run();
  t.is(a.verdict.shown, true);
  t.is(a.evidence[0]!.kind, 'compare');
  await a.close();
  await api.close();
  await b.close();
  t.deepEqual(learn.calls, ['run S1', 'run S2', 'close S1', 'close S2']);
});

test('RealApi: a run waits until the sessions still closing are closed (a view left and entered again)', async (t) => {
  const learn = new FakeLearn();
  const order: string[] = [];
  const steps = learn.steps.map((s): LearnStep => ({
    ...s,
    run: async (o) => {
      order.push(`run ${s.id}`);
      const session = await s.run(o);
      return { ...session, close: async () => { await delay(40); order.push(`closed ${s.id}`); } };
    },
  }));
  const api = new RealApi({ learnSteps: () => steps } as never);
  const a = await step(api, 'S12').run();
  void a.close();
  await step(api, 'S12').run();
  t.deepEqual(order, ['run S12', 'closed S12', 'run S12']);
  await api.close();
});

test('RealApi: close() aborts a run still starting, and a run after close() is refused', async (t) => {
  const learn = new FakeLearn();
  learn.held.add('S4');
  const api = realOver(learn);
  const running = step(api, 'S4').run();
  await delay(10);
  await api.close();
  await t.throwsAsync(running, { message: /aborted/ });
  await t.throwsAsync(step(api, 'S5').run(), { message: 'S5: the dashboard is closing' });
  t.deepEqual(learn.calls, ['run S4']);
});

test('RealApi: a library run that ignores the abort is closed as soon as it returns, and close() waits for that', async (t) => {
  const closed: string[] = [];
  const slow: LearnStep = {
    ...new FakeLearn().steps[0]!,
    run: async () => {
      await delay(50);
      return { step: 'S1', verdict: { shown: true, detail: { en: '', zh: '' } }, evidence: [], containers: [],
        exec: async () => ({ stdout: '', stderr: '', exitCode: 0 }), close: async () => { await delay(20); closed.push('S1'); } } satisfies StepSession;
    },
  };
  const api = new RealApi({ learnSteps: () => [slow] } as never);
  const running = api.learnSteps()[0]!.run();
  await delay(5);
  await api.close();
  t.deepEqual(closed, ['S1'], 'closed before close() resolved');
  await t.throwsAsync(running, { message: /closing/ });
});

test('RealApi: every close failure is reported together, and the others still close', async (t) => {
  const learn = new FakeLearn();
  // S1's and S3's sessions fail to close (the library's TeardownError), S2's closes.
  const steps = learn.steps.map((s): LearnStep => ({
    ...s,
    run: async (o) => {
      const session = await s.run(o);
      return s.id === 'S2' ? session : { ...session, close: async () => { throw new Error(`${s.id}: kill: ESRCH`); } };
    },
  }));
  const api = new RealApi({ learnSteps: () => steps } as never);
  for (const id of ['S1', 'S2', 'S3']) await step(api, id).run();
  const err = await t.throwsAsync(api.close());
  t.true(err instanceof AggregateError);
  t.deepEqual((err as AggregateError).errors.map((e: Error) => e.message), ['S1: kill: ESRCH', 'S3: kill: ESRCH']);
  t.is(err!.message, 'learn: 2 session(s) failed to close');
  t.deepEqual(learn.calls, ['run S1', 'run S2', 'run S3', 'close S2']);
});

test('RealApi without learnSteps in the library: the Learn view says what is missing', async (t) => {
  const api = new RealApi({} as never);
  t.throws(() => api.learnSteps(), { message: 'learn: not available yet: needs learnSteps() in the library (issue 15)' });
  const fake = new FakeApi({ containers: 0 });
  fake.learnSteps = () => api.learnSteps();
  const m = mount(t, fake, { initial: { view: 'learn' } });
  await m.waitFor(has('learn: not available yet: needs learnSteps() in the library (issue 15)'));
});

test('runTui({ learn }) opens on the Learn view at that step in that language; ^C closes the open session', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const stdout = new FakeStdout(120, 44);
  const stdin = new FakeStdin();
  const done = runTui({ api, stdin: stdin as unknown as NodeJS.ReadStream, stdout: stdout as unknown as NodeJS.WriteStream, learn: { step: 'S12', lang: 'zh' } });
  const wait = async (s: string): Promise<string> => {
    const end = Date.now() + 3000;
    for (;;) {
      const f = stripAnsi(stdout.frames.join(''));
      if (f.includes(s)) return f;
      if (Date.now() > end) throw new Error(`timed out waiting for ${s}:\n${stripAnsi(stdout.last())}`);
      await delay(10);
    }
  };
  const f = await wait('S12 的中文说法。');
  t.true(f.includes('[6 Learn]'));
  stdin.write(KEY.enter);
  await wait('shown ✓ — S12 在此内核上成立');
  stdin.write('\x03');
  t.is(await done, 0);
  const end = Date.now() + 3000;
  while (!api.learn.calls.includes('close S12') && Date.now() < end) await delay(10);
  t.deepEqual(api.learn.calls, ['run S12', 'close S12']);
});
