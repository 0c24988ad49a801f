/**
 * Each limit enforced by the real kernel (this host: v1 controllers plus a cgroup2 mount, so the
 * v1 writers run here; the v2 ones are unit-tested on a cgroup2-shaped tree in nsbox-cgroups).
 * Containers get cgroups only below this process's own (nsbox-<id>), removed when they end.
 */
import test from 'ava';

import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { fixture, leftovers } from '../lifecycle/helpers.js';
import { eventually, readCg } from './helpers.js';

test.serial('an allocation past --memory is OOM-killed: exit 137, oomKilled in the state, an oom event, cgroups gone', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    // dd's 200 MiB buffer is filled by read(): the memory is really touched.
    const c = await f.rt.run({ command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=200M', 'count=1'], rootfs: f.rootfs.root, resources: { memory: '32m', memorySwap: '32m' } });
    const st = await c.wait();
    t.is(st.exitCode, 137);
    const s = c.inspect();
    t.true(s.oomKilled, 'OOMKilled');
    const events: string[] = [];
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    try {
      for await (const e of f.rt.events({ past: true, signal: ac.signal })) if (e.id === c.id) events.push(e.type);
    } catch { /* aborted */ }
    t.deepEqual(events.filter((e) => e === 'oom' || e === 'exit'), ['oom', 'exit']);
    const cli = await runCli(['inspect', '--root', f.root, c.id]);
    const doc = JSON.parse(cli.stdout)[0];
    t.true(doc.oomKilled);
    t.is(doc.resources.memory.limit, 32 << 20);
    t.deepEqual(leftovers(f.root, [s]).filter((l) => l.startsWith('cgroup')), []);
  } finally {
    await f.dispose();
  }
});

test.serial('a foreground run past --memory exits 137', async (t) => {
  if (!needsRoot(t)) return;
  const r = await runCli(['run', '--memory', '16m', '--', 'python3', '-c', "x = b'x' * (100 << 20)"]);
  t.is(r.code, 137, r.stderr);
});

test.serial('fork past --pids-limit fails; the limit is pids.max', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const c = await f.rt.run({ command: ['/bin/sh', '-c', 'sleep 1'], rootfs: f.rootfs.root, resources: { pidsLimit: 4 } });
    t.is(readCg(c.inspect(), 'pids.max'), '4');
    await c.wait();
    // Nine processes: the shell and eight children. A failed fork ends the shell (status 2).
    const forks = (limit: string) => runCli(['run', '--pids-limit', limit, '--rootfs', f.rootfs.root, '--', '/bin/sh', '-c',
      'n=0; for i in 1 2 3 4 5 6 7 8; do sleep 1 & n=$((n+1)); done; echo started=$n; wait']);
    const r = await forks('4');
    t.not(r.code, 0);
    t.regex(r.stderr, /fork/i, 'the shell reports the failed fork');
    t.notRegex(r.stdout, /started=8/);
    const ok = await forks('20');
    t.is(ok.code, 0, ok.stderr);
    t.regex(ok.stdout, /started=8/, 'the same script runs under a higher limit');
  } finally {
    await f.dispose();
  }
});

test.serial('--cpus 0.5: a busy loop gets about half a CPU by the cgroup\'s own counters', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const c = await f.rt.run({ command: ['/bin/sh', '-c', 'while :; do :; done'], rootfs: f.rootfs.root, resources: { cpus: 0.5 } });
    const s = c.inspect();
    t.is(readCg(s, 'cpu.cfs_quota_us'), '50000');
    t.is(readCg(s, 'cpu.cfs_period_us'), '100000');
    // CPU time used (cpuacct.usage, ns) over the CFS periods it ran in (cpu.stat nr_periods × 100 ms):
    // both the cgroup's own counters, no wall clock.
    const periods = () => Number(/nr_periods (\d+)/.exec(readCg(s, 'cpu.stat'))![1]);
    t.true(await eventually(() => periods() >= 20, 20_000), 'the loop ran for 20 periods');
    const used = Number(readCg(s, 'cpuacct.usage'));
    const share = used / (periods() * 100_000_000);
    const throttled = Number(/nr_throttled (\d+)/.exec(readCg(s, 'cpu.stat'))![1]);
    t.log(`share of a CPU: ${share.toFixed(3)} over ${periods()} periods, throttled ${throttled} times`);
    t.true(share < 0.7, `at most about half a CPU, got ${share}`);
    // On a loaded machine the loop may not even get its half; then the periods it was throttled in show
    // that it reached the quota.
    t.true(share > 0.3 || throttled >= 5, `about half a CPU (or throttled at the quota), got ${share}, throttled ${throttled} times`);
    await c.remove({ force: true });
  } finally {
    await f.dispose();
  }
});

test.serial('nproc under --cpuset-cpus 0 is 1; ulimit -n under --ulimit nofile=512:512; /dev/shm and --tmpfs sizes', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const r = await runCli(['run', '--cpuset-cpus', '0', '--ulimit', 'nofile=512:512', '--shm-size', '8m', '--tmpfs', '/mnt:size=2m',
      '--rootfs', f.rootfs.root, '--', '/bin/sh', '-c', 'nproc; ulimit -n; ulimit -Hn; df -k /dev/shm /mnt | tail -2']);
    t.is(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.deepEqual(lines.slice(0, 3), ['1', '512', '512']);
    t.is(lines[3]!.split(/\s+/)[1], '8192', '/dev/shm is 8 MiB');
    t.is(lines[4]!.split(/\s+/)[1], '2048', '/mnt is 2 MiB');
    const d = await runCli(['run', '--rootfs', f.rootfs.root, '--', '/bin/sh', '-c', 'df -k /dev/shm | tail -1']);
    t.is(d.stdout.trim().split(/\s+/)[1], '65536', "docker's 64 MiB by default");
    // The host view's own /tmp and /run are bounded too.
    const h = await runCli(['run', '--', 'sh', '-c', 'df -k /tmp /run | tail -2']);
    t.deepEqual(h.stdout.trim().split('\n').map((l) => l.split(/\s+/)[1]), ['262144', '65536']);
  } finally {
    await f.dispose();
  }
});

test.serial('update on a running container: pids.max and the memory limits change; creation-only options are refused', async (t) => {
  if (!needsRoot(t)) return;
  const f = fixture();
  try {
    const c = await f.rt.run({ command: ['sleep', '60'], rootfs: f.rootfs.root, resources: { pidsLimit: 20, memory: '64m', memorySwap: '64m' } });
    t.is(readCg(c.inspect(), 'pids.max'), '20');
    await c.update({ pidsLimit: 50 });
    t.is(readCg(c.inspect(), 'pids.max'), '50');
    // Raising memory above the memory+swap limit alone is refused with docker's message …
    const e = await runCli(['update', '--root', f.root, '--memory', '128m', c.id]);
    t.is(e.code, 125);
    t.regex(e.stderr, /^nsbox: --memory: ERR_INVALID_SPEC: Memory limit should be smaller than already set memoryswap limit/);
    // … and raising both works (memsw is written first).
    const ok = await runCli(['update', '--root', f.root, '--memory', '128m', '--memory-swap', '256m', c.id]);
    t.is(ok.code, 0, ok.stderr);
    t.is(readCg(c.inspect(), 'memory.limit_in_bytes'), String(128 << 20));
    t.is(readCg(c.inspect(), 'memory.memsw.limit_in_bytes'), String(256 << 20));
    await t.throwsAsync(c.update({ shmSize: '1g' }), { message: /resources.shmSize: ERR_INVALID_SPEC: cannot be changed/ });
    const inspect = JSON.parse((await runCli(['inspect', '--root', f.root, c.id])).stdout)[0];
    t.is(inspect.resources.pids.limit, 50);
    t.is(inspect.resources.memory.limit, 128 << 20);
    await c.remove({ force: true });
    const s = await t.throwsAsync(c.update({ pidsLimit: 5 }));
    t.truthy(s);
  } finally {
    await f.dispose();
  }
});
