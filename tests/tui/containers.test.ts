import test from 'ava';
import { NotAvailableError } from '../../cli/src/tui/api.js';
import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { KEY, has, mount } from './helpers.js';

const rowOf = (frame: string, name: string): string => frame.split('\n').find((l) => l.includes(name)) ?? '';
const selected = (frame: string): string => frame.split('\n').find((l) => l.includes('› ')) ?? '';

test('lists containers with name, short id, status, pid, ip, uptime, cpu and memory', async (t) => {
  const api = new FakeApi({ containers: 3, now: Date.UTC(2026, 0, 1, 1) });
  const m = mount(t, api);
  const f = await m.waitFor(has('box-003'));
  t.regex(f, /NAME▲\s+ID\s+STATUS\s+PID\s+IP\s+UPTIME\s+CPU%\s+MEM/);
  const c = [...api.containers.values()][0]!.summary;
  const row = rowOf(f, 'box-001');
  t.true(row.includes(c.id.slice(0, 12)));
  t.regex(row, /running\s+10001 10\.88\.0\.2\s+1m01s\s+0\.7%\s+2\.0MiB/);
  t.true(f.includes('1 Containers'));
});

test('refreshes at least once a second', async (t) => {
  const api = new FakeApi({ containers: 2 });
  const m = mount(t, api, { refreshMs: 1000 });
  await m.waitFor(has('box-002'));
  const before = rowOf(m.frame(), 'box-001');
  api.tick();
  const after = await m.waitFor((f) => rowOf(f, 'box-001') !== before, 1500);
  t.regex(rowOf(after, 'box-001'), /4\.0%/);
});

test('/ filters by name, Enter keeps the filter, Esc clears it; q typed in the filter does not quit', async (t) => {
  const m = mount(t, new FakeApi({ containers: 12 }));
  await m.waitFor(has('box-012'));
  await m.press('/');
  await m.type('q');
  await m.press(KEY.backspace);
  await m.type('box-01');
  let f = await m.waitFor((x) => x.includes('filter: box-01') && !x.includes('box-009'));
  t.true(f.includes('filter: box-01'), f);
  t.true(f.includes('box-010') && f.includes('box-012'));
  t.false(m.exited());
  await m.press(KEY.enter);
  await m.press(KEY.esc);
  f = await m.waitFor(has('box-009'));
  t.true(f.includes('12 containers'));
});

test('o cycles the sort column and O reverses it', async (t) => {
  const m = mount(t, new FakeApi({ containers: 5 }));
  await m.waitFor(has('box-005'));
  await m.press('O');
  let f = await m.waitFor(has('NAME▼'));
  t.true(f.indexOf('box-005') < f.indexOf('box-001'));
  await m.press('o', 'o'); // status, then cpu
  f = await m.waitFor(has('CPU%▼'));
  t.true(f.includes('sort cpu'));
  t.true(f.indexOf('box-005') < f.indexOf('box-001'), 'highest cpu first');
});

test('200 containers: only a window of rows is drawn and the window follows the selection', async (t) => {
  const m = mount(t, new FakeApi({ containers: 200 }), { size: { columns: 110, rows: 32 } });
  let f = await m.waitFor(has('box-001'));
  const drawn = f.split('\n').filter((l) => /box-\d{3}/.test(l)).length;
  t.true(drawn > 10 && drawn <= 32, `drew ${drawn} rows`);
  t.false(f.includes('box-200'));
  await m.press('G');
  f = await m.waitFor(has('box-200'));
  t.true(selected(f).includes('box-200'));
  t.false(f.includes('box-001'));
  await m.press(KEY.pageUp, KEY.up);
  f = await m.waitFor((x) => !selected(x).includes('box-200'));
  t.regex(selected(f), /box-1[67]\d/);
  await m.press('g');
  f = await m.waitFor(has('box-001'));
  t.true(selected(f).includes('box-001'));
});

test('arrows move the selection, several keys in one burst included', async (t) => {
  const m = mount(t, new FakeApi({ containers: 5 }));
  await m.waitFor(has('box-005'));
  await m.type(`${KEY.down}${KEY.down}${KEY.down}`);
  const f = await m.waitFor((x) => selected(x).includes('box-004'));
  t.pass(selected(f));
});

test('when the lifecycle API is missing the list says so instead of crashing', async (t) => {
  const api = new FakeApi({ capabilities: { root: false, reasons: ['not root: networks need root'] } });
  api.listContainers = async () => { throw new NotAvailableError('containers', 'the lifecycle API (issue 4)'); };
  const m = mount(t, api);
  const f = await m.waitFor(has('not available yet'));
  t.true(f.includes('containers: not available yet: needs the lifecycle API (issue 4)'));
  t.true(f.includes('not root: networks need root'));
  t.true(f.includes('not root'));
});

test('a filter typed together with its Enter (fast typing, paste) is applied and kept', async (t) => {
  const m = mount(t, new FakeApi({ containers: 12 }));
  await m.waitFor(has('box-012'));
  await m.press('/');
  await m.type('box-011\r');
  const f = await m.waitFor(has('filter: box-011  (1 shown'));
  t.false(f.includes('box-012'));
  await m.press('s');
  await m.waitFor(has('stopped box-011'));
});

test('an OOM-killed container says so: oom(137) in the list, exited(137) OOMKilled in the detail view', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const c = [...api.containers.values()][0]!;
  c.summary = { ...c.summary, status: 'exited', exitCode: 137, oomKilled: true, pid: 0 };
  const m = mount(t, api);
  const f = await m.waitFor(has('box-001'));
  t.regex(rowOf(f, 'box-001'), /oom\(137\)/);
  await m.press(KEY.enter);
  t.truthy(await m.waitFor(has('exited(137) OOMKilled')));
});
