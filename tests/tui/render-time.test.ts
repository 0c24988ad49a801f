/**
 * How long a frame takes with 200 containers (fake API, 120×40). Reports, does not assert a time:
 *  - react: Profiler actualDuration of each commit (render phase of the changed components);
 *  - ink: ink's own renderTime (layout + drawing the frame to a string);
 *  - key→frame: from writing ↓ to stdin until the frame with the moved selection is written
 *    (includes the extra render of the one-key-per-render queue).
 */
import test from 'ava';
import { render } from 'ink';
import { Profiler, createElement } from 'react';
import { App } from '../../cli/src/tui/components/app.js';
import { FakeApi } from '../../cli/src/tui/fake-api.js';
import { FakeStdin, FakeStdout, KEY, delay, stripAnsi } from './helpers.js';

const stats = (xs: number[]): string => {
  if (xs.length === 0) return 'n/a (React calls Profiler only in development builds)';
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(2)} ms, p95 ${q(0.95).toFixed(2)} ms, max ${s[s.length - 1]!.toFixed(2)} ms (n=${s.length})`;
};

test('render time of a frame with 200 containers', async (t) => {
  const api = new FakeApi({ containers: 200 });
  const stdout = new FakeStdout(120, 40);
  const stdin = new FakeStdin();
  const react: number[] = [];
  const ink: number[] = [];
  const t0 = performance.now();
  const app = createElement(App, { api, refreshMs: 100, size: { columns: 120, rows: 40 } });
  const instance = render(createElement(Profiler, { id: 'app', onRender: (_id: string, _phase: string, actual: number) => react.push(actual) }, app), {
    stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, debug: true,
    exitOnCtrlC: false, patchConsole: false, onRender: (m) => ink.push(m.renderTime),
  });
  t.teardown(() => instance.unmount());
  const last = (): string => stripAnsi(stdout.last());
  while (!last().includes('box-001')) await delay(1);
  const firstFrame = performance.now() - t0;

  // Refresh: every running container's CPU changes every 100 ms; only the visible rows re-render.
  react.length = 0;
  ink.length = 0;
  const tick = setInterval(() => api.tick(), 100);
  await delay(2000);
  clearInterval(tick);
  const refreshReact = [...react];
  const refreshInk = [...ink];

  // Navigation: 60 × ↓, each waited for; the window scrolls after the first ~35.
  react.length = 0;
  ink.length = 0;
  const latency: number[] = [];
  for (let i = 2; i <= 61; i++) {
    const name = `box-${String(i).padStart(3, '0')}`;
    const start = performance.now();
    stdin.write(KEY.down);
    while (!last().split('\n').some((l) => l.includes(`› ${name}`))) await delay(0);
    latency.push(performance.now() - start);
  }
  const rows = last().split('\n').filter((l) => /box-\d{3}/.test(l)).length;
  t.true(rows < 40, 'windowed');
  const report = [
    `200 containers, 120×40, ${rows} rows drawn`,
    `first frame (mount + first listContainers): ${firstFrame.toFixed(1)} ms`,
    `refresh frames — react ${stats(refreshReact)}; ink ${stats(refreshInk)}`,
    `navigation frames — react ${stats(react)}; ink ${stats(ink)}`,
    `key→frame latency — ${stats(latency)}`,
  ];
  for (const l of report) t.log(l);
  t.pass();
});
