/** The real DashboardApi's own parts: /proc reading, the spawn()-backed session runtime, graceful gaps. */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { NotAvailableError, type LogLine } from '../../cli/src/tui/api.js';
import { hostNsIds, idMap, nsIds, processesInPidNs, scanNamespaces } from '../../cli/src/tui/procfs.js';
import { RealApi } from '../../cli/src/tui/real-api.js';
import type { SpawnFn, SpawnedLike } from '../../cli/src/tui/session-runtime.js';
import { needsRoot } from '../helpers/privileged.js';
import { delay } from './helpers.js';

const inode = (pid: number | 'self', kind: string): number => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${kind}`))![1]);

function child(t: { teardown: (f: () => void) => void }, cmd: string, args: string[]): ChildProcess {
  const c = spawnChild(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { c.kill('SIGKILL'); });
  return c;
}

/** spawn() stand-in: a plain child process, so the session runtime and /proc reading can be tested as any user. */
const fakeSpawn = (t: { teardown: (f: () => void) => void }): SpawnFn => (o) => {
  const argv = o.command as string[];
  const c = child(t, argv[0]!, argv.slice(1));
  const exited = new Promise<{ exitCode: number; signal: string | null }>((resolve) =>
    c.on('exit', (code, signal) => resolve({ exitCode: code ?? 128 + 9, signal })));
  const handle: SpawnedLike = {
    id: `${c.pid}`.padStart(64, '0'), name: o.name as string, pid: c.pid, started: Promise.resolve(c.pid!),
    stdout: c.stdout, stderr: c.stderr, wait: () => exited, kill: (s) => c.kill(s as NodeJS.Signals),
  };
  return handle;
};

test('nsIds reads all eight kinds of this process; idMap reads uid_map', async (t) => {
  const ids = await nsIds('self');
  t.deepEqual(Object.keys(ids).sort(), ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts']);
  t.is(ids.net, inode('self', 'net'));
  const map = await idMap(process.pid, 'uid');
  t.true(map.length >= 1 && map.every((l) => l.length >= 1));
});

test('scanNamespaces finds our own namespaces with this process in them', async (t) => {
  const all = await scanNamespaces([]);
  const net = all.find((n) => n.kind === 'net' && n.id === inode('self', 'net'))!;
  t.truthy(net);
  t.true(net.processes.some((p) => p.pid === process.pid));
  t.is(net.nprocs, net.processes.length);
  const host = await hostNsIds();
  t.is(net.isHost, host.ids.net === net.id);
});

test('a new uts+pid namespace shows up in the explorer and its processes have pid 1 inside', async (t) => {
  if (!needsRoot(t)) return;
  const secs = `30.${process.pid}`;
  const c = child(t, 'unshare', ['--uts', '--pid', '--fork', '--mount-proc', 'sleep', secs]);
  let pid = 0;
  for (let i = 0; i < 100 && !pid; i++) {
    await delay(20);
    const kids = (await scanNamespaces([])).find((n) => n.kind === 'pid' && n.processes.some((p) => p.command === `sleep ${secs}`));
    pid = kids?.processes.find((p) => p.command === `sleep ${secs}`)?.pid ?? 0;
  }
  t.true(pid > 0, `unshare ${c.pid} started sleep`);
  const all = await scanNamespaces([{ name: 'probe', pid }]);
  const uts = all.find((n) => n.kind === 'uts' && n.id === inode(pid, 'uts'))!;
  t.false(uts.isHost);
  t.deepEqual(uts.containers, ['probe']);
  const procs = await processesInPidNs(pid);
  t.deepEqual(procs.map((p) => [p.pidInside, p.pidHost]), [[1, pid]]);
});

test('without the lifecycle API and spawn: containers and networks say what they need; the explorer works', async (t) => {
  const api = new RealApi({});
  await t.throwsAsync(api.listContainers(), { instanceOf: NotAvailableError, message: /needs the lifecycle API/ });
  await t.throwsAsync(api.listNetworks(), { instanceOf: NotAvailableError, message: /needs the networking API/ });
  await t.throwsAsync(api.createContainer({ command: ['true'] }), { instanceOf: NotAvailableError });
  const caps = await api.capabilities();
  t.true(caps.reasons.some((r) => r.includes('lifecycle API')));
  t.true((await api.hostNamespaces()).length >= 8);
});

test('session runtime over spawn(): create, list with usage, logs, inspect from /proc, stop, remove', async (t) => {
  const api = new RealApi({ spawn: fakeSpawn(t) });
  const c = await api.createContainer({ name: 'probe', command: ['sh', '-c', 'echo hello; echo oops >&2; exec sleep 30'] });
  t.is(c.status, 'running');
  t.true(c.pid > 0);
  await t.throwsAsync(api.createContainer({ name: 'probe', command: ['true'] }), { message: /name already in use/ });
  const [listed] = await api.listContainers();
  t.is(listed!.name, 'probe');
  const ac = new AbortController();
  const lines: LogLine[] = [];
  for await (const l of api.logs(c.id, { follow: true, signal: ac.signal })) {
    lines.push(l);
    if (lines.length === 2) ac.abort();
  }
  t.deepEqual(lines.map((l) => [l.stream, l.line]).sort(), [['stderr', 'oops'], ['stdout', 'hello']]);
  const d = await api.inspectContainer('probe');
  t.is(d.namespaces.length, 8);
  t.is(d.namespaces.find((n) => n.kind === 'net')!.id, inode(c.pid, 'net'));
  await t.throwsAsync(api.execShell(c.id), { instanceOf: NotAvailableError, message: /Container\.exec/ });
  await t.throwsAsync(api.remove(c.id), { message: /is running/ });
  await api.stop(c.id);
  t.is((await api.listContainers())[0]!.status, 'exited');
  await api.remove(c.id);
  t.deepEqual(await api.listContainers(), []);
  await api.close();
});

test('lifecycle backend: the list\'s CPU %, memory and pids and the Stats tab\'s readings come from the library\'s stats', async (t) => {
  if (!needsRoot(t)) return;
  const nsbox = await import('nsbox');
  const root = mkdtempSync(path.join(tmpdir(), 'nsbox-tui-stats-'));
  const rt = new nsbox.Runtime({ root });
  const api = new RealApi(nsbox as never, { root });
  try {
    const c = await rt.run({ command: ['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait'], resources: { memory: '64m', pidsLimit: 50 } });
    let row;
    for (let i = 0; i < 100 && row?.cpuPercent === undefined; i++) {
      [row] = await api.listContainers();
      await delay(50);
    }
    t.is(row!.id, c.id);
    t.is(row!.pids, 3);
    t.true(row!.cpuPercent! >= 0, 'CPU % from the second reading on');
    const lib = rt.readStats()[0]!;
    t.is(row!.memoryBytes! > 0 && row!.memoryBytes! <= lib.memory.raw, true);
    const p = await api.containerStats(c.id);
    t.like(p, { memoryLimit: 64 << 20, pids: 3, pidsLimit: 50, netRx: 0, netTx: 0 });
    // A rate needs a span: a read 100 ms later keeps the first one's (none), one 600 ms later has it.
    await delay(100);
    t.is((await api.containerStats(c.name)).cpuPercent, undefined);
    await delay(600);
    t.true((await api.containerStats(c.name)).cpuPercent! >= 0);
    await c.remove({ force: true });
  } finally {
    for (const s of rt.list({ all: true })) await rt.get(s.id).remove({ force: true }).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
});
