/**
 * Out-of-memory kills as they happen and `nsbox events` (issue #11). The monitor watches the
 * container's memory cgroup (v1 here: an eventfd in cgroup.event_control; the v2 watcher on
 * memory.events is tested in nsbox-cgroups' oom.rs against a cgroup2-shaped directory, since this
 * host's cgroup2 has no memory controller): a child killed while PID 1 lives gives an `oom` event
 * while the container runs. CI budget: ~15 s.
 */
import test from 'ava';

import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { fixture, leftovers } from '../lifecycle/helpers.js';
import { eventually } from './helpers.js';

test.serial('a child killed by the OOM killer while PID 1 lives: an oom event before any exit; ps and events say so', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    // dd's 200 MiB buffer is filled by read(): past 32m it is killed; the shell lives on.
    const c = await f.rt.run({
      name: 'oomer', rootfs: f.rootfs.root, resources: { memory: '32m', memorySwap: '32m' },
      command: ['/bin/sh', '-c', 'dd if=/dev/zero of=/dev/null bs=200M count=1; echo dd=$?; sleep 60'],
    });
    const seen: string[] = [];
    const ac = new AbortController();
    const reader = (async () => {
      for await (const e of f.rt.events({ past: true, signal: ac.signal })) {
        if (e.id !== c.id) continue;
        seen.push(e.type);
        if (e.type === 'oom') ac.abort();
      }
    })();
    t.true(await eventually(() => seen.includes('oom'), 15_000), `an oom event while it runs (saw ${seen.join(' ')})`);
    ac.abort();
    await reader;
    t.false(seen.includes('exit'), 'no exit before the oom');
    t.is(c.inspect().status, 'running', 'PID 1 lives on');
    for (const cmd of ['pause', 'unpause']) {
      const p = await runCli([cmd, '--root', f.root, 'oomer']);
      t.is(p.code, 0, p.stderr);
    }
    // Killed from here: `kill` and `die` follow in docker's words, and OOMKilled stays right at exit.
    const k = await runCli(['kill', '--root', f.root, 'oomer']);
    t.is(k.code, 0, k.stderr);
    const st = await c.wait();
    t.is(st.exitCode, 137);
    const s = c.inspect();
    t.true(s.oomKilled, 'OOMKilled: a process of the container was OOM-killed');
    const ps = await runCli(['ps', '-a', '--root', f.root, '--format', '{{.Names}} {{.Status}}']);
    t.regex(ps.stdout, /^oomer Exited \(137\) .* ago \(OOMKilled\)$/m);
    const all = await runCli(['events', '--root', f.root, '--since', '0', '--until', String(Date.now() / 1000 + 1)]);
    t.is(all.code, 0, all.stderr);
    const mine = all.stdout.split('\n').filter((l) => l.includes(c.id));
    t.log(mine.join('\n'));
    t.deepEqual(mine.map((l) => l.split(' ')[2]), ['create', 'start', 'oom', 'pause', 'unpause', 'kill', 'die']);
    t.regex(mine[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container create [0-9a-f]{64} \(name=oomer\)$/);
    t.regex(mine[5]!, /\(name=oomer, signal=9\)$/);
    t.regex(mine[6]!, /\(exitCode=137, name=oomer\)$/);
    const doc = JSON.parse((await runCli(['inspect', '--root', f.root, 'oomer'])).stdout)[0];
    t.like(doc.State, { Status: 'exited', OOMKilled: true, ExitCode: 137, Running: false });
    // docker's JSON, filtered by event and by container.
    const j = await runCli(['events', '--root', f.root, '--since', '10m', '--until', '0s', '--format', 'json', '--filter', 'event=oom', '--filter', 'event=die', '--filter', 'container=oomer']);
    t.is(j.code, 0, j.stderr);
    const docs = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    t.deepEqual(docs.map((d) => d.Action), ['oom', 'die']);
    t.like(docs[1], { Type: 'container', status: 'die', id: c.id, Actor: { ID: c.id, Attributes: { name: 'oomer', exitCode: '137' } } });
    t.regex(j.stdout, /"timeNano":\d{19}[,}]/, 'timeNano is the exact integer');
    const tpl = await runCli(['events', '--root', f.root, '--since', '10m', '--until', '0s', '--filter', `container=${c.id.slice(0, 12)}`, '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    t.deepEqual(tpl.stdout.trim().split('\n'), ['create oomer', 'start oomer', 'oom oomer', 'pause oomer', 'unpause oomer', 'kill oomer', 'die oomer']);
    await c.remove();
    t.deepEqual(leftovers(f.root, [s]), []);
    const gone = await runCli(['events', '--root', f.root, '--since', '10m', '--until', '0s', '--filter', 'event=destroy']);
    t.regex(gone.stdout, new RegExp(`container destroy ${c.id} \\(name=oomer\\)`));
  } finally {
    await f.dispose();
  }
});

test('nsbox events: bad times, filters and formats exit 125 naming the flag', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--since', 'yesterday'], /^nsbox: --since: invalid time "yesterday"/],
    [['--until', '10x'], /^nsbox: --until: invalid time/],
    [['--filter', 'colour=red'], /^nsbox: --filter: invalid filter "colour=red"/],
    [['--filter', 'event=explode'], /^nsbox: --filter: unknown event "explode"/],
    [['--format', '{{.Nope}}'], /^nsbox: --format: unknown field \{\{\.Nope\}\}/],
    [['--format', 'yaml'], /^nsbox: --format: unknown format "yaml"/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(['events', '--root', '/nonexistent-nsbox-root', ...args]);
    t.is(r.code, 125, args.join(' '));
    t.regex(r.stderr, re);
  }
});

test('nsbox events follows until SIGINT, then exits 0', async (t) => {
  const { spawn } = await import('node:child_process');
  const { CLI } = await import('../helpers/cli.js');
  const p = spawn(process.execPath, [CLI, 'events', '--root', '/nonexistent-nsbox-root'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 800));
  t.is(p.exitCode, null, 'still following');
  p.kill('SIGINT');
  const code = await new Promise((r) => p.on('exit', (c) => r(c)));
  t.is(code, 0);
});
