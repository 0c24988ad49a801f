// The TUI's Images view (5) over the fake API: rows per name, remove with confirmation, force past a
// container that uses it, the API's absence said plainly. CI budget: ~2 s.
import test from 'ava';
import { NotAvailableError } from '../../cli/src/tui/api.js';
import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { pullLine } from '../../cli/src/tui/components/images-view.js';
import { KEY, has, mount } from './helpers.js';

test('5: images, one row a name; d asks, y removes the name', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press('5');
  let f = await m.waitFor((x) => x.includes('[5 Images]') && x.includes('REPOSITORY'));
  t.regex(f, /› docker\.io\/library\/busybox\s+latest\s+a1a1a1a1a1a1\s+\S+ ago\s+2\.1MiB/);
  t.regex(f, /localhost\/box\s+1\s+a1a1a1a1a1a1/);
  t.regex(f, /docker\.io\/library\/alpine\s+3\.20\s+c3c3c3c3c3c3/);
  await m.press('d');
  await m.waitFor(has('Remove docker.io/library/busybox:latest? [y/N]'));
  await m.press('y');
  f = await m.waitFor(has('removed docker.io/library/busybox:latest'));
  t.deepEqual(api.calls, ['removeImage docker.io/library/busybox:latest']);
  f = await m.waitFor((x) => !x.includes('library/busybox '));
  t.regex(f, /localhost\/box\s+1/);
});

test('an image in use: the error, then a second question to force', async (t) => {
  const api = new FakeApi({ containers: 1 });
  api.failures.set('removeImage', Object.assign(new Error('image "x" is used by container(s) abc'), { code: 'ERR_IMAGE_IN_USE' }));
  const m = mount(t, api, { initial: { view: 'images' } });
  await m.waitFor(has('REPOSITORY'));
  await m.press('d');
  await m.waitFor(has('[y/N]'));
  await m.press('y');
  await m.waitFor(has('Force-remove docker.io/library/busybox:latest?'));
  await m.press('y');
  await m.waitFor(has('removed docker.io/library/busybox:latest'));
  t.deepEqual(api.calls, ['removeImage docker.io/library/busybox:latest force']);
});

test('images view says when the image API is missing', async (t) => {
  const api = new FakeApi();
  api.listImages = async () => { throw new NotAvailableError('images', 'the image store API (issue 12)'); };
  const m = mount(t, api, { initial: { view: 'images' } });
  await m.waitFor(has('images: not available yet: needs the image store API (issue 12)'));
  t.pass();
});

test('the new-container form takes an image; its command may stay empty (the image\'s Cmd)', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api);
  await m.waitFor(has('box-001'));
  await m.press('n');
  await m.waitFor(has('New container'));
  await m.type('img');                       // name
  await m.press(KEY.down, KEY.left);         // root: image (left wraps from host view)
  await m.waitFor(has('[image]'));
  await m.press(KEY.down);
  await m.type('busybox');                   // image
  await m.press(KEY.down, KEY.down, KEY.down, KEY.down, KEY.down, KEY.enter);
  await m.waitFor(has('created img'));
  const c = [...api.containers.values()].find((x) => x.summary.name === 'img')!;
  t.is(c.image, 'busybox');
  t.deepEqual(c.command, []);
});

test('p pulls: a prompt for the reference, a progress line, the new row', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api, { initial: { view: 'images' } });
  await m.waitFor(has('p pull'));
  await m.press('p');
  await m.waitFor(has('pull: '));
  await m.type('nginx');
  await m.press(KEY.enter);
  const f = await m.waitFor(has('pulled docker.io/library/nginx:latest (sha256:e5e5'));
  t.deepEqual(api.calls, ['pullImage nginx']);
  await m.waitFor((x) => /docker\.io\/library\/nginx\s+latest\s+e6e6e6e6e6e6/.test(x));
  t.notRegex(f, /pull: /, 'the prompt is gone');
});

test('p then Esc: nothing pulled; the progress line sums the layers', async (t) => {
  const api = new FakeApi({ containers: 1 });
  const m = mount(t, api, { initial: { view: 'images' } });
  await m.waitFor(has('p pull'));
  await m.press('p');
  await m.waitFor(has('(Enter pulls, Esc cancels)'));
  await m.press(KEY.esc);
  await m.waitFor(has('p pull'));
  t.deepEqual(api.calls, []);
  t.is(pullLine('x', { reference: 'docker.io/library/x:latest', layers: 3, done: 1, current: 1_500_000, total: 3_000_000 }), 'pulling docker.io/library/x:latest: 1/3 layers · 1.4MiB / 2.9MiB');
});
