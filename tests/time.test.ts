// S11: own boot-time and monotonic clock offsets, as root and rootless.
import { readFileSync } from 'node:fs';

import test from 'ava';
import { spawn } from 'nsbox';

import { runCli } from './helpers/cli.js';
import { keyValues, Transcript } from './helpers/lines.js';
import { AS_NOBODY, nobodyCannotRun } from './helpers/nobody.js';
import { needsRoot } from './helpers/privileged.js';

const YEAR = 365 * 86400;
const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

test('S11: /proc/uptime inside reflects the boot-time offset; both offsets are in timens_offsets', async (t) => {
  if (!needsRoot(t)) return;
  const before = uptime();
  const script = 'echo uptime=$(cut -d" " -f1 /proc/uptime); echo offsets=$(tr "\\n" ";" < /proc/self/timens_offsets); read go';
  const c = spawn({ command: ['/bin/sh', '-c', script], boottimeOffset: YEAR, monotonicOffset: -10, stderr: 'inherit' });
  const out = new Transcript(c.stdout);
  const pid = await c.started;
  await out.until(/offsets=.*\n/);
  const after = uptime();
  const kv = keyValues(out.text);
  const inside = Number(kv.uptime);
  // Bounds, not timing: the inside reading was taken between our two host readings.
  t.true(inside >= before + YEAR && inside <= after + YEAR, `inside ${inside}, host ${before}..${after}`);
  const offsets = (text: string) => text.split(/[;\n]/).map((l) => l.trim().split(/\s+/).join(' ')).filter(Boolean).sort();
  t.deepEqual(offsets(kv.offsets ?? ''), ['boottime 31536000 0', 'monotonic -10 0']);
  t.deepEqual(offsets(readFileSync(`/proc/${pid}/timens_offsets`, 'utf8')), ['boottime 31536000 0', 'monotonic -10 0'], 'host view');
  c.stdin!.end('go\n');
  t.is((await c.wait()).exitCode, 0);
  t.true(uptime() < YEAR, 'the host clock is untouched');
});

test('S11 (CLI, rootless): nobody gets a time namespace with the offset in place', async (t) => {
  if (!needsRoot(t)) return;
  const why = nobodyCannotRun();
  if (why) return t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
  const before = uptime();
  const r = await runCli(['run', '--boottime-offset', String(YEAR), '--', 'cut', '-d', ' ', '-f1', '/proc/uptime'], { prefix: AS_NOBODY });
  const after = uptime();
  t.is(r.code, 0, r.stderr);
  const inside = Number(r.stdout.trim());
  t.true(inside >= before + YEAR && inside <= after + YEAR, `inside ${inside}, host ${before}..${after}`);
});
