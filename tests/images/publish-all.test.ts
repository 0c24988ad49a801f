// `-P`: an image's ExposedPorts published on free host ports (in a throwaway network namespace).
// CI budget: ~5 s.
import { fileURLToPath } from 'node:url';

import test from 'ava';

import { runScenarioFile } from '../helpers/scenario.js';
import { needsRoot } from '../helpers/privileged.js';

test('-P publishes the image\'s exposed ports on free host ports, which answer', async (t) => {
  if (!needsRoot(t)) return;
  const file = fileURLToPath(new URL('./scenarios/publish-all.ts', import.meta.url));
  const { code, facts, stderr } = await runScenarioFile<{ ports: Array<{ hostPort: number; containerPort: number; protocol: string }>; answer: string }>(file, ['--net', '--mount']);
  t.is(code, 0, stderr);
  t.is(facts.ports.length, 1);
  const [p] = facts.ports;
  t.is(p?.containerPort, 80);
  t.is(p?.protocol, 'tcp');
  t.true(p!.hostPort >= 32768 && p!.hostPort <= 60999, String(p?.hostPort));
  t.regex(facts.answer, /hello-P/);
});
