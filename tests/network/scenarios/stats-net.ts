/**
 * (Stats) NET I/O of a container on a network: `readStats()` sums its namespace's interfaces but lo
 * (/proc/PID/net/dev), which must match the host-side veth's counters mirrored (what the container
 * received the host veth sent). Traffic: five pings of the gateway from inside.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createNetwork, removeNetwork, Runtime } from 'nsbox';

import { makeBusyboxRootfs } from '../../helpers/rootfs.js';
import { prepare, report, until } from './common.js';

prepare();
// As lifecycle-rm: the state root on a tmpfs of this namespace.
const root = '/mnt';
execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', root]);
process.env.NSBOX_ROOT = root;
const rootfs = makeBusyboxRootfs();
await createNetwork({ name: 'blue', subnet: '10.201.0.0/24' });
const rt = new Runtime({ root });
const facts: Record<string, unknown> = {};
// /sys shows the netns that mounted it (the real host's): a sysfs of this namespace, aside.
const sys = mkdtempSync(path.join(tmpdir(), 'nsbox-sysfs-'));
execFileSync('mount', ['-t', 'sysfs', 'sysfs', sys]);
try {
  const c = await rt.run({ command: ['/bin/sh', '-c', 'ping -c 5 -i 0.2 10.201.0.1 >/dev/null; touch /tmp/done; sleep 1000'], network: 'blue', rootfs: rootfs.root });
  const veth = c.inspect().endpoints[0]?.hostVeth ?? 'none';
  const done = await until(() => spawnSync('test', ['-e', `/proc/${c.pid}/root/tmp/done`]).status === 0, 10_000);
  const counter = (k: string) => Number(readFileSync(`${sys}/class/net/${veth}/statistics/${k}`, 'utf8'));
  const s = c.readStats();
  facts.done = done;
  facts.stats = s.network;
  facts.veth = { rx: counter('rx_bytes'), tx: counter('tx_bytes') };
  const CLI = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));
  facts.cli = spawnSync(process.execPath, [CLI, 'stats', '--no-stream', '--format', '{{.NetIO}}', c.id], { encoding: 'utf8' }).stdout.trim();
  await c.remove({ force: true });
} catch (e) {
  facts.error = String((e as Error).stack ?? e);
} finally {
  for (const s of rt.list({ all: true })) await rt.get(s.id).remove({ force: true }).catch(() => {});
  facts.rmNet = await removeNetwork('blue').then(() => 'ok', (e: Error) => e.message);
  rootfs.remove();
  execFileSync('umount', [sys]);
  rmdirSync(sys);
}
report(facts);
