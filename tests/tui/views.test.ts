import test from 'ava';
import { NotAvailableError } from '../../cli/src/tui/api.js';
import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { KEY, has, mount } from './helpers.js';

test('2: networks with subnet, gateway, bridge, endpoints, and the topology of the selected one', async (t) => {
  const api = new FakeApi({ containers: 6 });
  const m = mount(t, api);
  await m.waitFor(has('box-006'));
  await m.press('2');
  let f = await m.waitFor((x) => x.includes('[2 Networks]') && x.includes('SUBNET'));
  t.regex(f, /› nsbox\s+10\.88\.0\.0\/16\s+10\.88\.0\.1\s+nsbox0\s+5/);
  t.regex(f, /blue\s+10\.201\.0\.0\/24\s+10\.201\.0\.1\s+nsbox-blue\s+1/);
  t.true(f.includes('nsbox0 (10.88.0.1) 10.88.0.0/16'));
  t.regex(f, /├─ veth\w{7}\s+═veth═ box-001\s+eth0 10\.88\.0\.2\/16\s+02:42:0a:00:00:01/);
  t.regex(f, /└─ veth\w{7}\s+═veth═ box-006/);
  await m.press(KEY.down);
  f = await m.waitFor(has('nsbox-blue (10.201.0.1)'));
  t.regex(f, /└─ veth\w{7}\s+═veth═ box-005\s+eth0 10\.201\.0\.6\/24/);
  await m.press(KEY.esc);
  await m.waitFor(has('NAME▲'));
});

test('networks view pages through 160 endpoints', async (t) => {
  const m = mount(t, new FakeApi({ containers: 200 }), { size: { columns: 110, rows: 30 } });
  await m.waitFor(has('box-001'));
  await m.press('2');
  let f = await m.waitFor(has('of 160 endpoints'));
  t.true(f.includes('box-001'));
  await m.press(KEY.pageDown);
  f = await m.waitFor((x) => !x.includes('box-001 '));
  t.regex(f, /\d+–\d+ of 160 endpoints/);
});

test('networks view says when the networking API is missing', async (t) => {
  const api = new FakeApi();
  api.listNetworks = async () => { throw new NotAvailableError('networks', 'the networking API (issue 3)'); };
  const m = mount(t, api, { initial: { view: 'networks' } });
  await m.waitFor(has('networks: not available yet: needs the networking API (issue 3)'));
  t.pass();
});

test('networks view marks a rootless user\'s networks and where their bridge lives', async (t) => {
  const api = new FakeApi();
  const list = api.listNetworks.bind(api);
  api.listNetworks = async () => (await list()).map((n) => ({ ...n, rootless: true }));
  const m = mount(t, api, { initial: { view: 'networks' } });
  const f = await m.waitFor(has('your rootless network namespace (holder)'));
  t.regex(f, /› nsbox\s+10\.88\.0\.0\/16\s+10\.88\.0\.1\s+nsbox0\s+\d+ rootless/);
});

test('3: namespace explorer lists every namespace, who uses it, and its processes on Enter', async (t) => {
  const m = mount(t, new FakeApi({ containers: 2 }));
  await m.waitFor(has('box-002'));
  await m.press('3');
  let f = await m.waitFor((x) => x.includes('[3 Namespaces]') && x.includes('USED BY'));
  t.regex(f, /KIND\s+ID\s+NPROCS\s+OWNER\s+PID\s+COMMAND\s+USED BY/);
  t.regex(f, /net\s+4026531837\s+120 4026531840\s+1 init\s+host/);
  t.regex(f, /net\s+\d+\s+2 4026531840\s+10001 sleep infinity\s+box-001/);
  t.true(f.includes('20 namespaces'), '8 host + 6 for each of 2 containers');
  await m.press('/');
  await m.type('box-002');
  await m.press(KEY.enter);
  f = await m.waitFor(has('filter: box-002'));
  t.is(f.split('\n').filter((l) => l.includes('box-002')).length, 6 + 1);
  await m.press(KEY.down, KEY.down, KEY.down, KEY.enter);
  f = await m.waitFor(has('Esc back'));
  t.regex(f, /net namespace \d+ · 2 processes · box-002/);
  t.regex(f, /10002 sleep infinity/);
  t.regex(f, /10003 sh -c worker/);
  await m.press(KEY.esc);
  await m.waitFor(has('USED BY'));
  await m.press(KEY.esc);
  f = await m.waitFor(has('namespaces · owner'));
  t.true(f.includes('[3 Namespaces]'));
});

test('USED BY separates the host and each container with ", "', async (t) => {
  const api = new FakeApi({ containers: 2 });
  const list = await api.hostNamespaces();
  api.hostNamespaces = async () => list.map((n) => (n.kind === 'net' && n.isHost ? { ...n, containers: ['sleeper', 'web'] } : n));
  const m = mount(t, api, { initial: { view: 'namespaces' } });
  const f = await m.waitFor(has('USED BY'));
  t.regex(f, /net\s+4026531837\s+120 4026531840\s+1 init\s+host, sleeper, web/);
  t.regex(f, /net\s+\d+\s+2 4026531840\s+10001 sleep infinity\s+box-001$/m);
});

test('the terminal size is followed: rows drawn and columns used change with it', async (t) => {
  const m = mount(t, new FakeApi({ containers: 100 }), { size: undefined });
  await m.waitFor(has('box-001'));
  const rows = (f: string) => f.split('\n').filter((l) => /box-\d{3}/.test(l)).length;
  const before = rows(m.frame());
  m.stdout.rows = 50;
  m.stdout.columns = 140;
  m.stdout.emit('resize');
  const f = await m.waitFor((x) => rows(x) > before);
  t.is(rows(f), before + 18);
  t.true(f.split('\n')[0]!.length > 110);
});

test('a view that throws while rendering shows its error; Esc gets back to a working dashboard', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const real = api.inspectContainer.bind(api);
  api.inspectContainer = async (id) => ({ ...(await real(id)), namespaces: null as never });
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press(KEY.enter);
  const f = await m.waitFor(has('This view failed'));
  t.regex(f, /This view failed: .*(null|map|length)/);
  await m.press(KEY.esc);
  await m.waitFor(has('NAME▲'));
  await m.press('s');
  await m.waitFor(has('stopped box-001'));
});

test('a failing refresh keeps the last list and says so', async (t) => {
  const api = new FakeApi({ containers: 2 });
  const m = mount(t, api);
  await m.waitFor(has('box-002'));
  const list = api.listContainers.bind(api);
  let broken = true;
  api.listContainers = async () => { if (broken) throw Object.assign(new Error('state root unreadable'), { code: 'EACCES' }); return list(); };
  const f = await m.waitFor(has('refresh failed'));
  t.true(f.includes('state root unreadable (EACCES)') && f.includes('box-002'));
  broken = false;
  await m.waitFor((x) => !x.includes('refresh failed'));
});
