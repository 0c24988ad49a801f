import test from 'ava';
import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { KEY, has, mount } from './helpers.js';

const id = (api: FakeApi, name: string): string => [...api.containers.values()].find((c) => c.summary.name === name)!.summary.id;

test('? shows the keys and any key closes it; q quits', async (t) => {
  const m = mount(t, new FakeApi({ containers: 1 }));
  await m.waitFor(has('box-001'));
  await m.press('?');
  const f = await m.waitFor(has('Keys'));
  for (const k of ['Enter', 'Esc', 'stop · kill · remove', 'exec a shell', 'quit']) t.true(f.includes(k), k);
  await m.press('x');
  await m.waitFor(has('NAME▲'));
  t.false(m.exited());
  await m.press('q');
  await m.instance.waitUntilExit();
  t.true(m.exited());
});

test('s stops the selected container and the list shows it exited', async (t) => {
  const api = new FakeApi({ containers: 2 });
  const m = mount(t, api);
  await m.waitFor(has('box-002'));
  await m.press(KEY.down, 's');
  const f = await m.waitFor(has('stopped box-002'));
  t.regex(f, /box-002.*exited\(143\)/);
  t.deepEqual(api.calls, [`stop ${id(api, 'box-002')}`]);
});

test('k kills; killing a stopped container shows the error and the dashboard carries on', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press('k');
  await m.waitFor(has('killed box-001'));
  await m.waitFor(has('exited(137)'));
  await m.press('k');
  const f = await m.waitFor(has('✗'));
  t.true(f.includes('killing box-001 failed: container box-001 is not running (ENOTRUNNING)'));
  await m.press(KEY.enter);
  await m.waitFor(has('[Namespaces]'));
});

test('d asks first: n keeps the container, y removes it (force when running)', async (t) => {
  const api = new FakeApi({ containers: 2 });
  const m = mount(t, api);
  await m.waitFor(has('box-002'));
  await m.press('d');
  let f = await m.waitFor(has('Remove box-001?'));
  t.true(f.includes('[y/N]') && f.includes('killed first'));
  await m.press('n');
  await m.waitFor((x) => !x.includes('Remove box-001?'));
  t.deepEqual(api.calls, []);
  await m.press('d');
  await m.waitFor(has('Remove box-001?'));
  await m.press('y');
  f = await m.waitFor(has('removed box-001'));
  t.false(f.includes('box-001 '));
  t.true(api.calls[0]!.startsWith('remove ') && api.calls[0]!.endsWith(' force'));
});

test('action errors are shown, never thrown', async (t) => {
  const api = new FakeApi({ containers: 1 });
  api.failures.set('stop', Object.assign(new Error('EPERM: operation not permitted, kill'), { code: 'EPERM' }));
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press('s');
  const f = await m.waitFor(has('stopping box-001 failed'));
  t.true(f.includes('EPERM: operation not permitted, kill'));
  await m.press('s');
  await m.waitFor(has('stopped box-001'));
});

test('e runs a shell in the selected running container; not for a stopped one', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press('e');
  await m.waitFor(has('shell in box-001 ended'));
  t.deepEqual(api.calls, [`execShell ${id(api, 'box-001')}`]);
  await m.press('k');
  await m.waitFor(has('exited(137)'));
  await m.press('e');
  await m.waitFor(has('exec: box-001 is not running'));
});

test('e hands the container and the view state to onExec (runTui leaves the screen there)', async (t) => {
  const api = new FakeApi({ containers: 2 });
  const seen: unknown[] = [];
  const m = mount(t, api, { onExec: (cid, state) => seen.push([cid, state.view, state.tab]) });
  await m.waitFor(has('box-002'));
  await m.press(KEY.down, KEY.enter);
  await m.waitFor(has('[Namespaces]'));
  await m.press('e');
  await m.waitFor(() => seen.length === 1);
  t.deepEqual(seen[0], [id(api, 'box-002'), 'detail', 'namespaces']);
});

test('n opens the form; filling it creates the container, which is then selected', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press('n');
  let f = await m.waitFor(has('New container'));
  t.true(f.includes('[host view]') && f.includes('[nsbox]'));
  t.regex(f, /\[x\] cgroup \[x\] ipc \[x\] mnt \[x\] net \[x\] pid \[ \] time \[ \] user \[x\] uts/);
  await m.type('web');                       // name
  await m.press(KEY.down, KEY.right);        // root: rootfs
  await m.press(KEY.down);
  await m.type('/srv/rootfs');               // rootfs
  await m.press(KEY.down);
  await m.type('httpd -f -p 80');            // command (q, k, s… are text here)
  await m.press(KEY.down);
  await m.type('webhost');                   // hostname
  await m.press(KEY.down, KEY.right);        // network: blue
  await m.press(KEY.down, KEY.right, KEY.right, KEY.right, KEY.right, KEY.right, KEY.space); // time namespace on
  f = await m.waitFor(has('[x] time'));
  t.true(f.includes('[blue]') && f.includes('[rootfs]') && f.includes('httpd -f -p 80'));
  await m.press(KEY.down, KEY.enter);
  f = await m.waitFor(has('created web'));
  t.true(f.split('\n').find((l) => l.includes('› '))!.includes('web'));
  const web = [...api.containers.values()].find((c) => c.summary.name === 'web')!;
  t.deepEqual(web.command, ['httpd', '-f', '-p', '80']);
  t.is(web.rootfs, '/srv/rootfs');
  t.is(web.hostname, 'webhost');
  t.is(web.endpoints[0]!.network, 'blue');
  t.deepEqual(web.namespaces.filter((n) => !n.shared).map((n) => n.kind), ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'uts']);
});

test('the form checks its input, Esc cancels it, and a create error is shown', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press('n', KEY.up, KEY.enter);     // up wraps to Create
  await m.waitFor(has('command is required'));
  await m.press(KEY.esc);
  await m.waitFor(has('NAME▲'));
  t.deepEqual(api.calls, []);
  await m.press('n');
  await m.type('box-001');
  await m.press(KEY.down, KEY.down);
  await m.type('sleep 1');
  await m.press(KEY.up, KEY.up, KEY.up, KEY.enter);
  const f = await m.waitFor(has('✗'));
  t.true(f.includes('name already in use: box-001'));
});

test('p pauses the selected container, p again unpauses it; pausing a stopped one shows the error', async (t) => {
  const api = new FakeApi({ containers: 2 });
  const m = mount(t, api);
  await m.waitFor(has('box-002'));
  await m.press('p');
  let f = await m.waitFor(has('paused box-001'));
  t.regex(f, /box-001.*paused/);
  await m.press('p');
  f = await m.waitFor(has('unpaused box-001'));
  t.regex(f, /box-001.*running/);
  await m.press('s');
  await m.waitFor(has('exited(143)'));
  await m.press('p');
  f = await m.waitFor(has('✗'));
  t.true(f.includes('pausing box-001 failed: container box-001 is exited (ENOTRUNNING)'));
  t.deepEqual(api.calls.filter((c) => /pause/.test(c)), [`pause ${id(api, 'box-001')}`, `unpause ${id(api, 'box-001')}`, `pause ${id(api, 'box-001')}`]);
});
