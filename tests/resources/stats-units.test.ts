/**
 * The parts of stats that need no container: docker's units and table in `nsbox stats`, and the
 * figures read from cgroup2-shaped and hybrid trees (this host's controllers are all v1, so the v2
 * reading cannot run on the kernel here). CI budget: 2 s.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';

import type { ContainerState } from '../../ts/src/index.js';

const MiB = 1 << 20;

test('docker\'s units: go-units BytesSize for memory, HumanSizeWithPrecision(…, 3) for I/O, Go\'s %g', async (t) => {
  const { bytesSize, goG, humanSize, render } = await import('../../cli/src/commands/stats-format.js');
  t.is(bytesSize(1.5 * MiB), '1.5MiB');
  t.is(bytesSize(64 * MiB), '64MiB');
  t.is(bytesSize(252 * 1024), '252KiB');
  t.is(bytesSize(25_272_000_000), '23.54GiB');
  t.is(bytesSize(0), '0B');
  t.is(humanSize(1234), '1.23kB');
  t.is(humanSize(648), '648B');
  t.is(humanSize(1_000_000), '1MB');
  t.is(humanSize(12_345_678), '12.3MB');
  t.is(goG(999.9, 3), '1e+03');
  t.is(goG(0.00001234, 3), '1.23e-05');
  // A running container without cgroups of its own (rootless on v1): nothing to tell but its network.
  const { statsRow } = await import('../../cli/src/commands/stats-format.js');
  const { readStats, statsSample } = await import('../../ts/src/index.js');
  const rootless = statsSample(readStats({ id: 'a'.repeat(64), name: 'r', status: 'running', pid: null, cgroups: [], namespaces: [] } as unknown as ContainerState));
  t.false(rootless.cgroups);
  t.like(statsRow(rootless, {}), { CPUPerc: '--', MemUsage: '-- / --', MemPerc: '--', PIDs: '--', BlockIO: '-- / --', NetIO: '0B / 0B', ID: 'aaaaaaaaaaaa' });
  // docker's tabwriter: cells padded to at least 10 columns, 3 spaces between.
  t.is(render('table {{.Name}}\t{{.PIDs}}', [{ Name: 'a-long-container-name', PIDs: '3' } as never]), 'NAME                    PIDS\na-long-container-name   3\n');
});

/** A running container's state whose cgroups are `dirs` (made-up trees: no cgroup mount holds them). */
const stateWith = (dirs: string[]) => ({ id: 'f'.repeat(64), name: 'tree', status: 'running', pid: null, cgroups: dirs, namespaces: [] }) as unknown as ContainerState;

test('v2 and hybrid: the same figures from cgroup2-shaped and mixed trees (this host\'s controllers are all v1)', async (t) => {
  const { readStats } = await import('../../ts/src/index.js');
  const root = mkdtempSync(path.join(tmpdir(), 'nsbox-stats-tree-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const tree = (dir: string, files: Record<string, string>) => {
    mkdirSync(path.join(root, dir), { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(root, dir, f), text);
    return path.join(root, dir);
  };
  const v2 = tree('v2/nsbox-x', {
    'cgroup.controllers': 'cpuset cpu io memory pids\n',
    'cpu.stat': 'usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 0\n',
    'memory.current': `${30 * MiB}\n`, 'memory.stat': `anon ${20 * MiB}\nfile ${10 * MiB}\nactive_file ${2 * MiB}\ninactive_file ${8 * MiB}\n`,
    'memory.max': `${64 * MiB}\n`, 'pids.current': '3\n', 'pids.max': 'max\n',
    'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
  });
  const x = readStats(stateWith([v2]));
  t.deepEqual([x.cpu.totalNs, x.memory.usage, x.memory.raw, x.memory.limit, x.memory.limited, x.pids.current, x.pids.limit], [1.5e9, 22 * MiB, 30 * MiB, 64 * MiB, true, 3, null]);
  t.deepEqual(x.blockIO, { read: 4196, write: 8192 });
  // Hybrid: memory, cpuacct and pids in v1 hierarchies, io (and nothing else) in the cgroup2 one.
  const mem = tree('memory/nsbox-x', { 'memory.usage_in_bytes': `${5 * MiB}\n`, 'memory.stat': `cache 0\ntotal_inactive_file ${MiB}\n`, 'memory.limit_in_bytes': '9223372036854771712\n' });
  const acct = tree('cpuacct/nsbox-x', { 'cpuacct.usage': '777\n' });
  const pids = tree('pids/nsbox-x', { 'pids.current': '2\n', 'pids.max': '50\n' });
  const unified = tree('unified/nsbox-x', { 'cgroup.controllers': 'io\n', 'io.stat': '8:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n' });
  const h = readStats(stateWith([mem, acct, pids, unified]));
  t.deepEqual([h.cpu.totalNs, h.memory.usage, h.memory.limited, h.pids.current, h.pids.limit], [777, 4 * MiB, false, 2, 50]);
  t.true(h.memory.limit > 0, 'the host\'s memory without a limit');
  t.deepEqual(h.blockIO, { read: 1, write: 2 });
});
