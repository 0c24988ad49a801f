// The Host view (4): what `nsbox info` prints, in the dashboard, with the missing features' remedies.
import test from 'ava';
import { render } from 'ink-testing-library';
import { createElement } from 'react';

import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { HostView } from '../../cli/src/tui/components/host-view.js';
import { KEY, delay, has, mount } from './helpers.js';

async function until(frame: () => string | undefined, pred: (f: string) => boolean, ms = 3000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const f = frame() ?? '';
    if (pred(f)) return f;
    if (Date.now() > end) throw new Error(`timed out; last frame:\n${f}`);
    await delay(10);
  }
}

test('the Host view renders the report: versions, cgroups, user namespaces, counts, and a warning with its remedy', async (t) => {
  const api = new FakeApi({ containers: 4 });
  const r = render(createElement(HostView, { api, width: 120, height: 60, refreshMs: 1000 }));
  t.teardown(() => r.unmount());
  const f = await until(r.lastFrame, has('Storage:'));
  t.true(f.includes('1 feature missing (WARNING lines, with the remedy)'));
  t.regex(f, /Version: nsbox 0\.1\.0/);
  t.regex(f, /Kernel Version: 6\.1\.0-test/);
  t.regex(f, /Layout: v2 \(unified\)/);
  t.regex(f, /subuid: 100000-165535/);
  t.regex(f, /Containers: 4\n Running: 4/);
  t.regex(f, /Networks: 2/);
  t.regex(f, /WARNING: nftables: nft not found\. Published ports \(-p\) are written with nft: `sudo apt-get install nftables`/);
});

test('4 opens the Host view from anywhere; it scrolls; 1 goes back', async (t) => {
  const m = mount(t, new FakeApi({ containers: 2 }), { size: { columns: 110, rows: 20 } });
  await m.waitFor(has('box-002'));
  await m.press('4');
  let f = await m.waitFor((x) => x.includes('[4 Host]') && x.includes('Client:'));
  t.false(f.includes('Storage:'), 'a 20-row terminal shows the top of the report');
  await m.press(KEY.pageDown, KEY.pageDown);
  f = await m.waitFor(has('Storage:'));
  t.false(f.includes('Client:'));
  await m.press('1');
  await m.waitFor(has('[1 Containers]'));
  t.pass();
});

test('the Host view says why when the host cannot be read', async (t) => {
  const api = new FakeApi();
  api.failures.set('hostInfo', new Error('EACCES: /proc/self/mountinfo'));
  const m = mount(t, api, { initial: { view: 'host' } });
  await m.waitFor(has('EACCES: /proc/self/mountinfo'));
  t.pass();
});
