/**
 * The Learn view (`6`, `nsbox learn`) over fake learn steps (cli/src/tui/fake-learn.ts): the step list
 * and its marks, navigation, the language toggle, each evidence kind, the three verdicts, the user's own
 * command (`e`), errors in the status bar, and every session closed when its step is left, the view is
 * switched, the app unmounts or the dashboard's API closes. No host access. CI budget: 15 s.
 */
import test from 'ava';
import type { ClaimId } from 'nsbox';
import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { KEY, has, lacks, mount } from './helpers.js';

const learnAt = (step: ClaimId, lang: 'en' | 'zh' = 'en') => ({ initial: { view: 'learn' as const, learn: { step, lang, marks: {} } }, size: { columns: 120, rows: 44 } });
const verdict = (s: string) => has(s);

/** Sessions close in an effect's cleanup, just after the frame that shows the step left: wait for the call. */
async function calls(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, api: FakeApi, expected: string[], message?: string): Promise<void> {
  const end = Date.now() + 3000;
  while (Date.now() < end && JSON.stringify(api.learn.calls) !== JSON.stringify(expected)) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(api.learn.calls, expected, message);
}

test('6 opens Learn: S1…S15 listed, the top bar says so, S8 marked not supported before anything runs', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api, { size: { columns: 120, rows: 44 } });
  await m.waitFor(has('box-001'));
  await m.press('6');
  const f = await m.waitFor((x) => x.includes('[6 Learn]') && /S8\s+– Unprivileged parent/.test(x));
  for (const id of ['S1', 'S2', 'S9', 'S10', 'S15']) t.regex(f, new RegExp(`^.?${id}\\s+·`, 'm'), `${id} listed, not run yet`);
  t.regex(f, /›S1\s+· PID 1, twice/);
  t.true(f.includes('not run yet · Enter or r runs it'));
  t.true(f.includes('nsbox  $ nsbox run --name learn-s1'), 'the nsbox command');
  t.true(f.includes('manual $ unshare --fork --pid sh # S1'), 'the manual command');
  await calls(t, api, [], 'nothing runs by itself');
});

test('Enter runs S1: running… then the compare table (differing rows ≠, equal rows =) and "shown ✓"', async (t) => {
  const api = new FakeApi({ containers: 0 });
  api.learn.held.add('S1');
  const m = mount(t, api, learnAt('S1'));
  await m.waitFor(has('PID 1, twice'));
  await m.press(KEY.enter);
  let f = await m.waitFor(has('running…'));
  t.regex(f, /S1\s+… PID 1/, 'the list marks it running');
  api.learn.release('S1');
  f = await m.waitFor(verdict('shown ✓ — S1 holds on this kernel'));
  t.regex(f, /box-a\s+box-b/);
  t.regex(f, /≠ pid ns\s+4026531836\s+4026532301/);
  t.regex(f, /= pid of command\s+1\s+1/);
  t.regex(f, /›S1\s+✓/);
  t.true(f.includes('containers: box-a (pid 4242), box-b (pid 4243)'));
  await calls(t, api, ['run S1']);
});

test('lines evidence (S2), and S5 names the options beyond a default container', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const m = mount(t, api, learnAt('S2'));
  await m.waitFor(has('Eight namespace kinds'));
  await m.press('r');
  const f = await m.waitFor(verdict('shown ✓'));
  t.true(f.includes('▸ Namespaces created one by one'));
  t.regex(f, /^.*\s{2}uts\+pid\+user ok/m);
  await m.press('n', 'n', 'n');
  const g = await m.waitFor(has('options beyond a default container'));
  t.true(g.includes('• --cap-add SYS_ADMIN: to mount inside'));
});

test('topology (S14): bridges with gateway, ifindex and MAC; veth ⇄ eth0 with peer ifindex; probes ok / blocked as expected', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const m = mount(t, api, { ...learnAt('S14'), size: { columns: 120, rows: 60 } });
  await m.waitFor(has('Same bridge talks'));
  await m.press(KEY.enter);
  const f = await m.waitFor(verdict('shown ✓'));
  t.regex(f, /learn-a gateway 10\.77\.0\.1\/24 #77 02:00:00:00:4d:01 · 2 endpoints/);
  t.regex(f, /learn-b gateway 10\.78\.0\.1\/24 #78 02:00:00:00:4e:01 · 1 endpoint\b/);
  t.regex(f, /veth-box-a/);
  t.regex(f, /host side #770/);
  t.regex(f, /eth0 10\.77\.0\.2\/24/);
  t.regex(f, /#2 ⇄ peer #770/);
  t.regex(f, /box-c's netns/);
  t.regex(f, /↳ same learn-a\s+───│ veth-box-b/, 'a bridge box once per bridge');
  t.regex(f, /ping box-a → box-b 10\.77\.0\.3\s+ok \(expected\)/);
  t.regex(f, /ping box-a → box-c 10\.78\.0\.2\s+blocked \(expected\)/);
});

test('a probe against expectation says so', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const step = api.learn.steps.find((s) => s.id === 'S14')!;
  const run = step.run.bind(step);
  step.run = async (o) => {
    const s = await run(o);
    const ev = s.evidence[0]!;
    if (ev.kind === 'topology') ev.probes = [{ from: 'box-a', to: 'box-c', address: '10.78.0.2', kind: 'tcp', ok: true, expected: false }];
    return { ...s, verdict: { shown: false, detail: { en: 'box-a reached box-c across bridges', zh: '跨网桥可达' } } };
  };
  const m = mount(t, api, { ...learnAt('S14'), size: { columns: 120, rows: 60 } });
  await m.waitFor(has('Same bridge talks'));
  await m.press(KEY.enter);
  const f = await m.waitFor(verdict('not shown — box-a reached box-c across bridges'));
  t.regex(f, /tcp box-a → box-c 10\.78\.0\.2\s+ok \(NOT expected: should be blocked\)/);
});

test('not shown (S3): the verdict says why and the list marks ✗', async (t) => {
  const m = mount(t, new FakeApi({ containers: 0 }), learnAt('S3'));
  await m.waitFor(has('cgroup namespace'));
  await m.press(KEY.enter);
  const f = await m.waitFor(verdict('not shown — both saw the same inode'));
  t.regex(f, /›S3\s+✗/);
  t.true(f.includes('✓ S3 not shown'), 'and the status bar');
});

test('not supported (S8): the reason is shown and Enter does not run it', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const m = mount(t, api, learnAt('S8'));
  let f = await m.waitFor(has('not supported on this host — no user namespaces for unprivileged users here'));
  await m.press(KEY.enter, 'r');
  f = await m.waitFor(has('not supported on this host'));
  t.false(f.includes('running…'));
  await calls(t, api, []);
  await m.press('L');
  await m.waitFor(has('not supported on this host — 此主机不允许非特权用户创建 user 命名空间'));
});

test('a run that fails: the error in the status bar, "not shown — run failed", the list marks !', async (t) => {
  const api = new FakeApi({ containers: 0 });
  api.learn.failures.set('S9', Object.assign(new Error('S9: create: clone3: Operation not permitted'), { code: 'EPERM' }));
  const m = mount(t, api, learnAt('S9'));
  await m.waitFor(has('uts namespace'));
  await m.press(KEY.enter);
  const f = await m.waitFor(has('✗ S9: run failed: S9: create: clone3: Operation not permitted (EPERM)'));
  t.true(f.includes('not shown — run failed: S9: create: clone3'));
  t.regex(f, /›S9\s+!/);
  await m.press(KEY.enter);
  await m.waitFor(verdict('shown ✓ — S9 holds'));
  await calls(t, api, ['run S9', 'run S9']);
});

test('L toggles English/中文; runTui-style initial language zh', async (t) => {
  const m = mount(t, new FakeApi({ containers: 0 }), learnAt('S12', 'zh'));
  let f = await m.waitFor(has('S12 的中文说法。'));
  t.true(f.includes('沙盒、端点、网络') && f.includes('中文 (L)') && f.includes('S12 所在章节'));
  await m.press(KEY.enter);
  await m.waitFor(verdict('shown ✓ — S12 在此内核上成立'));
  await m.press('L');
  f = await m.waitFor(has('The claim of S12, in English.'));
  t.true(f.includes('shown ✓ — S12 holds on this kernel') && f.includes('English (L)') && f.includes('▸ Bridges, veths and eth0'));
});

test('← → n p move between steps; leaving a run step closes its session, each exactly once', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const m = mount(t, api, learnAt('S1'));
  await m.waitFor(has('PID 1, twice'));
  await m.press(KEY.enter);
  await m.waitFor(verdict('shown ✓'));
  await m.press(KEY.right);
  await m.waitFor((x) => /›S2/.test(x) && x.includes('not run yet'));
  await calls(t, api, ['run S1', 'close S1']);
  await m.press('n', 'p', KEY.left, KEY.left);
  await m.waitFor((x) => /›S1\s+✓/.test(x), 3000);
  t.true(m.frame().includes('not run yet'), 'a step left is closed: run it again to see it');
  await m.press('p');
  await m.waitFor(has('›S1'));
  await m.press(KEY.enter);
  await m.waitFor(verdict('shown ✓'));
  await m.press('r');
  await m.waitFor(verdict('shown ✓'));
  await calls(t, api, ['run S1', 'close S1', 'run S1', 'close S1', 'run S1'], 're-running closes the previous session first');
});

test('leaving a step while it runs aborts the run: nothing is left open', async (t) => {
  const api = new FakeApi({ containers: 0 });
  api.learn.held.add('S4');
  const m = mount(t, api, learnAt('S4'));
  await m.waitFor(has('ipc namespace'));
  await m.press(KEY.enter);
  await m.waitFor(has('running…'));
  await m.press('n');
  await m.waitFor((x) => /›S5/.test(x));
  t.false(m.frame().includes('✗ S4'), 'an abort we asked for is not an error');
  await calls(t, api, ['run S4'], 'aborted before a session existed');
});

test('switching view, and unmounting, close the open session', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api, learnAt('S6'));
  await m.waitFor(has('net namespace'));
  await m.press(KEY.enter);
  await m.waitFor(verdict('shown ✓'));
  await m.press('1');
  await m.waitFor(has('box-001'));
  await calls(t, api, ['run S6', 'close S6']);
  await m.press('6');
  await m.waitFor((x) => /›S6\s+✓/.test(x), 3000);
  await m.press(KEY.enter);
  await m.waitFor(verdict('shown ✓'));
  await m.press(KEY.esc);
  await m.waitFor(has('box-001'));
  await calls(t, api, ['run S6', 'close S6', 'run S6', 'close S6'], 'Esc goes back and closes too');
  await m.press('6', KEY.enter);
  await m.waitFor(verdict('shown ✓'));
  m.unmount();
  await calls(t, api, ['run S6', 'close S6', 'run S6', 'close S6', 'run S6', 'close S6'], 'unmount (q, ^C) closes it');
});

test('e runs a command of the user\'s own in the step\'s container and shows its output; Tab picks the other container', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const m = mount(t, api, learnAt('S9'));
  await m.waitFor(has('uts namespace'));
  await m.press('e');
  await m.waitFor(has('✗ exec: run S9 first (Enter)'));
  await m.press(KEY.enter);
  await m.waitFor(verdict('shown ✓'));
  await m.press('e');
  await m.waitFor(has('box-a$ '));
  await m.press(KEY.tab);
  await m.waitFor(has('box-b$ '));
  await m.type('hostname | tr a-z A-Z');
  await m.press(KEY.enter);
  const f = await m.waitFor(has('out of sh -c hostname | tr a-z A-Z'));
  t.true(f.includes('box-b$ hostname | tr a-z A-Z → exit 3'));
  t.true(f.includes('second line') && f.includes('a warning'), 'a NUL in the output drawn as a space');
  t.true(f.includes("box-b: `hostname | tr a-z A-Z` exited with code 3"));
  await calls(t, api, ['run S9', 'exec S9 c-S9-b sh -c hostname | tr a-z A-Z']);
  await m.press('e', 'q', KEY.esc);
  await m.waitFor(lacks('box-a$ '));
  t.false(m.exited(), 'q typed into the prompt does not quit');
});

test('? lists the Learn keys', async (t) => {
  const m = mount(t, new FakeApi({ containers: 0 }), learnAt('S1'));
  await m.waitFor(has('PID 1, twice'));
  await m.press('?');
  const f = await m.waitFor(has('Keys'));
  t.true(f.includes('1 2 3 4 5 6') && f.includes('learn'));
  t.regex(f, /Learn: ← → n p\s+step \(the step left is closed\) · Enter r run it · e your command in it · L English\/中文/);
});

test('scrolling the pane: ↓ and PgDn move the content, g returns to the top', async (t) => {
  const m = mount(t, new FakeApi({ containers: 0 }), { ...learnAt('S14'), size: { columns: 120, rows: 24 } });
  await m.waitFor(has('Same bridge talks'));
  await m.press(KEY.enter);
  await m.waitFor(verdict('shown ✓'));
  await m.press(KEY.pageDown, KEY.pageDown);
  const f = await m.waitFor(has('probes'));
  t.false(f.includes('The claim of S14'), 'scrolled past the claim');
  await m.press('g');
  await m.waitFor(has('The claim of S14'));
});

test('no steps (the library part missing) is said plainly', async (t) => {
  const api = new FakeApi({ containers: 0 });
  api.learnSteps = () => [];
  const m = mount(t, api, learnAt('S1'));
  await m.waitFor(has("learn: no steps: the library's learnSteps() returned none"));
  t.pass();
});

test('every step\'s view, S1 → S15: its header, verdict and evidence; each left step closed', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const m = mount(t, api, { ...learnAt('S1'), size: { columns: 120, rows: 60 } });
  const expected: string[] = [];
  for (const s of api.learn.steps) {
    if (s.id !== 'S1') await m.press('n');
    await m.waitFor((x) => x.includes(`${s.id} ${s.title.en} · English (L)`) && new RegExp(`›${s.id}\\s`).test(x));
    await m.press(KEY.enter);
    const f = await m.waitFor((x) => /shown ✓ — |not shown — |not supported on this host — /.test(x) && x.includes(`${s.id} ${s.title.en}`));
    if (api.learn.unsupported.has(s.id)) { t.true(f.includes('not supported on this host'), s.id); continue; }
    expected.push(`run ${s.id}`);
    t.true(f.includes(api.learn.notShown.has(s.id) ? 'not shown — ' : `shown ✓ — ${s.id} holds`), s.id);
    t.true(f.includes(`▸ ${s.id === 'S2' ? 'Namespaces created one by one' : /S1[2-5]/.test(s.id) ? 'Bridges, veths and eth0' : `What ${s.id} compares`}`), `${s.id} evidence`);
    await calls(t, api, expected);
    expected.push(`close ${s.id}`);
  }
  m.unmount();
  await calls(t, api, expected, 'S15 closed on unmount');
});

test('80 columns: the list keeps ids and marks only, the pane gets the rest', async (t) => {
  const m = mount(t, new FakeApi({ containers: 0 }), { initial: { view: 'learn', learn: { step: 'S14', lang: 'en', marks: {} } }, size: { columns: 80, rows: 30 } });
  await m.waitFor(has('Same bridge talks'));
  await m.press(KEY.enter);
  const f = await m.waitFor(verdict('shown ✓'));
  t.regex(f, /^ S8 {2}– {3}/m, 'no title beside the id');
  t.regex(f, /^›S14 ✓(?! Same)/m);
  t.true(f.includes('│ bridge learn-a'), 'the topology in the pane');
  t.false(f.includes('PID 1, twice'));
});

test('an exited container is said so, and e starts on a running one', async (t) => {
  const api = new FakeApi({ containers: 0 });
  const step = api.learn.steps.find((s) => s.id === 'S10')!;
  const run = step.run.bind(step);
  step.run = async (o) => { const s = await run(o); return { ...s, containers: [{ ...s.containers[0]!, pid: 0 }, s.containers[1]!] }; };
  const m = mount(t, api, learnAt('S10'));
  await m.waitFor(has('PID 1 is init'));
  await m.press(KEY.enter);
  await m.waitFor(has('containers: box-a (exited), box-b (pid 4243)'));
  await m.press('e');
  await m.waitFor(has('box-b$ '));
  t.pass();
});
