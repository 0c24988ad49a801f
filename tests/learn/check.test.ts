// `nsbox learn --check` as root and as nobody (with a tun node nobody can open: S12–S15 on rootless
// networks; with a 0600 one: not shown, and why), in a throwaway host namespace (see helpers.ts),
// plus its argument errors. CI budget: ~45 s (two full runs of the fifteen steps, a few short runs).
import { existsSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';
import { CLAIM_IDS, listStates } from 'nsbox';

import { runCli } from '../helpers/cli.js';
import { nobodyCannotRun } from '../helpers/nobody.js';
import { needsRoot } from '../helpers/privileged.js';
import { checkLines, learnCli, NOBODY, stateRoot } from './helpers.js';

test('as root every step S1–S15 is shown, one line each, in order, exit 0, nothing left', async (t) => {
  if (!needsRoot(t)) return;
  const root = stateRoot();
  t.teardown(root.remove);
  const r = await learnCli(['--check'], root);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr);
  const lines = checkLines(r.stdout);
  t.deepEqual([...lines.keys()], [...CLAIM_IDS]);
  for (const [id, l] of lines) t.is(l.status, 'shown', `${id}: ${l.text}`);
  t.deepEqual(listStates(root.dir), [], 'no container left in the state root');
});

test('as nobody (a usable tun node): every step S1–S15 is shown, S12–S15 on rootless networks; nothing left', async (t) => {
  if (!needsRoot(t)) return;
  const why = nobodyCannotRun();
  if (why) return t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
  const root = stateRoot(NOBODY);
  t.teardown(root.remove);
  const r = await learnCli(['--check'], root, { nobody: true, tun: '666' });
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr);
  const lines = checkLines(r.stdout);
  t.deepEqual([...lines.keys()], [...CLAIM_IDS]);
  for (const [id, l] of lines) t.is(l.status, 'shown', `${id}: ${l.text}`);
  for (const id of ['S12', 'S13', 'S14', 'S15']) t.regex(lines.get(id)!.text, /the bridge lives in your rootless network namespace, not the host's/, id);
  t.regex(lines.get('S8')!.text, /uid 0 inside is uid 65534 on the host/);
  t.deepEqual(listStates(root.dir), [], 'no container left in the state root');
  // The step's networks were removed on close, so the holder (and its pid file) went with the last.
  t.false(existsSync(path.join(root.dir, 'run', 'netns.pid')), 'no rootless network holder left');
});

test('as nobody when /dev/net/tun is 0600: S12–S15 are "not shown here", saying why', async (t) => {
  if (!needsRoot(t)) return;
  const why = nobodyCannotRun();
  if (why) return t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
  const root = stateRoot(NOBODY);
  t.teardown(root.remove);
  const r = await learnCli(['S12', '--check'], root, { nobody: true, tun: '600' });
  t.is(r.code, 0, r.stderr);
  const l = checkLines(r.stdout).get('S12');
  t.is(l?.status, 'not shown here', r.stdout);
  t.regex(l?.text ?? '', /rootless network namespace.*\/dev\/net\/tun.*mode 0600/, r.stdout);
});

test('--lang zh prints the Chinese texts', async (t) => {
  if (!needsRoot(t)) return;
  const root = stateRoot();
  t.teardown(root.remove);
  const r = await learnCli(['s9', '--check', '--lang', 'zh'], root);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^S9  shown   uts：自己的主机名: 容器拥有自己的主机名和域名/m);
  t.is(checkLines(r.stdout).size, 1);
});

test('bad arguments: one clear line, exit 125; no terminal without --check: exit 1', async (t) => {
  const unknown = await runCli(['learn', 'S16', '--check']);
  t.is(unknown.code, 125);
  t.is(unknown.stderr, 'nsbox: learn: unknown step "S16": expected one of S1 S2 S3 S4 S5 S6 S7 S8 S9 S10 S11 S12 S13 S14 S15\n');
  t.is(unknown.stdout, '');
  const lang = await runCli(['learn', '--check', '--lang', 'fr']);
  t.is(lang.code, 125);
  t.is(lang.stderr, 'nsbox: learn: --lang: expected en or zh, not "fr"\n');
  const flag = await runCli(['learn', '--nosuch']);
  t.is(flag.code, 125);
  const noTty = await runCli(['learn', 'S1']);
  t.is(noTty.code, 1);
  t.regex(noTty.stderr, /needs a terminal.*use `nsbox learn --check`/);
});
