/**
 * (Lifecycle) A detached container on a network, started by one CLI process and removed by another:
 * `nsbox rm -f` releases its endpoint (veth, lease, nft rules, /etc files) from what the starting
 * process recorded in the container's endpoints.json — also when its monitor was SIGKILLed first.
 * And a container that ends by itself has its endpoint released by its monitor at the exit: with
 * `--rm` nothing is left without anyone calling rm; without it, `ps -a` shows it exited (its
 * state.json lists the released endpoint) and `rm` afterwards succeeds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { createNetwork, inspectNetwork, removeNetwork } from 'nsbox';

import { makeBusyboxRootfs } from '../../helpers/rootfs.js';
import { cli, NFT, prepare, report, sh, tmpfsStateRoot, until } from './common.js';

prepare();
const root = tmpfsStateRoot();
const rootfs = makeBusyboxRootfs();
await createNetwork({ name: 'blue', subnet: '10.201.0.0/24' });

interface Seen { records: Array<Record<string, unknown>>; veth: boolean; leases: number; nftPort: boolean; files: string | null }
const look = (id: string, veth: string): Seen => {
  const f = path.join(root, id, 'endpoints.json');
  return {
    records: existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Array<Record<string, unknown>>) : [],
    veth: sh(`ip -o link show ${veth}`).ok,
    leases: 0,
    nftPort: /8080/.test(sh(`${NFT} list ruleset`).out),
    files: existsSync(path.join(root, 'run', 'containers', id)) ? readdirSync(path.join(root, 'run', 'containers', id)).join(',') || '(empty dir)' : null,
  };
};
const withLeases = async (s: Seen) => ({ ...s, leases: (await inspectNetwork('blue')).endpoints.length });

const facts: Record<string, unknown> = {};
for (const scenario of ['rm-f', 'monitor-killed']) {
  const started = cli('run', '-d', '--name', 'web', '--network', 'blue', '-p', '8080:80', '--rootfs', rootfs.root, '--', '/bin/sleep', '1000');
  const id = started.stdout;
  const rec = (existsSync(path.join(root, id, 'endpoints.json')) ? JSON.parse(readFileSync(path.join(root, id, 'endpoints.json'), 'utf8')) : [{}]) as Array<{ hostVeth: string }>;
  const veth = rec[0]?.hostVeth ?? 'none';
  const during = await withLeases(look(id, veth));
  const vethIndex = Number(sh(`ip -o link show ${veth}`).out.split(':')[0]);
  const inspect = cli('inspect', 'web');
  // The monitor's RSS while the container runs (trimmed right after it reported the start).
  await new Promise((r) => setTimeout(r, 200));
  const monitorPid = (JSON.parse(readFileSync(path.join(root, id, 'state.json'), 'utf8')) as { monitorPid: number }).monitorPid;
  const monitorRssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${monitorPid}/status`, 'utf8'))?.[1] ?? NaN);
  if (scenario === 'monitor-killed') {
    const st = JSON.parse(readFileSync(path.join(root, id, 'state.json'), 'utf8')) as { monitorPid: number };
    process.kill(st.monitorPid, 'SIGKILL');
    for (let i = 0; i < 200 && (JSON.parse(cli('ps', '-a', '--format', 'json').stdout || '{}') as { status?: string }).status !== 'dead'; i++) await new Promise((r) => setTimeout(r, 20));
  }
  const ps = cli('ps', '-a', '--format', 'json').stdout;
  const rm = cli('rm', '-f', 'web');
  const after = await withLeases(look(id, veth));
  facts[scenario] = {
    started: { code: started.code, stderr: started.stderr }, during, vethIndex, monitorRssKiB, ps: (JSON.parse(ps || '{}') as { status?: string }).status, rm, after,
    inspectEndpoints: inspect.code === 0 ? (JSON.parse(inspect.stdout) as Array<{ endpoints: unknown[] }>)[0]!.endpoints : inspect.stderr,
    containerDir: existsSync(path.join(root, id)),
  };
}
// Containers that end by themselves: the monitor releases the endpoint when the command exits.
const state = (id: string) => JSON.parse(readFileSync(path.join(root, id, 'state.json'), 'utf8')) as { status: string; releasedEndpoints?: string[]; errors?: string[] };
const events = () => readFileSync(path.join(root, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; errors?: string[] });
for (const scenario of ['exit', 'rm-exit']) {
  const rmFlag = scenario === 'rm-exit' ? ['--rm'] : [];
  const name = `ends-${scenario}`;
  const started = cli('run', '-d', ...rmFlag, '--name', name, '--network', 'blue', '-p', '8080:80', '--rootfs', rootfs.root, '--', '/bin/sleep', '1');
  const id = started.stdout;
  const rec = (existsSync(path.join(root, id, 'endpoints.json')) ? JSON.parse(readFileSync(path.join(root, id, 'endpoints.json'), 'utf8')) : [{}]) as Array<{ hostVeth: string; endpoint: string }>;
  const veth = rec[0]?.hostVeth ?? 'none';
  const during = await withLeases(look(id, veth));
  const ended = await until(() => (scenario === 'rm-exit' ? !existsSync(path.join(root, id)) : (() => {
    try {
      return state(id).status === 'exited';
    } catch {
      return false;
    }
  })()), 10_000);
  // Nobody has called rm yet.
  const after = await withLeases(look(id, veth));
  const fact: Record<string, unknown> = {
    started: { code: started.code, stderr: started.stderr }, id, endpoint: rec[0]?.endpoint ?? null, during, ended, after,
    exitEvent: events().find((e) => e.type === 'exit' && e.id === id) ?? null,
    removeEvent: events().some((e) => e.type === 'remove' && e.id === id),
  };
  if (scenario === 'exit') {
    const st = state(id);
    fact.released = st.releasedEndpoints ?? null;
    fact.stateErrors = st.errors ?? null;
    fact.ps = (cli('ps', '-a', '--format', 'json').stdout.split('\n').map((l) => JSON.parse(l || '{}') as { name?: string; status?: string }).find((c) => c.name === name))?.status ?? null;
    fact.rm = cli('rm', name);
    fact.afterRm = await withLeases(look(id, veth));
    fact.containerDir = existsSync(path.join(root, id));
  } else {
    fact.nameFile = existsSync(path.join(root, 'names', name));
  }
  facts[scenario] = fact;
}
const rmNet = await removeNetwork('blue').then(() => 'ok', (e: Error) => e.message);
rootfs.remove();
report({ ...facts, rmNet });
