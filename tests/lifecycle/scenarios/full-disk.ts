/**
 * Runs under `unshare --mount --propagation private` (../helpers.ts runScenario): the state root is
 * a 64 KiB tmpfs that only this throwaway mount namespace sees. A container writes megabytes to a
 * log that cannot hold them; another writes to an attach client that never reads. Prints one JSON
 * object of observations.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Runtime } from '../../../ts/src/index.js';
import { makeBusyboxRootfs } from '../../helpers/rootfs.js';
import { leftovers } from '../helpers.js';

const CLI = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));
const cli = (root: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args, '--root', root], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const rootfs = makeBusyboxRootfs();
const small = mkdtempSync(path.join(tmpdir(), 'nsbox-full-'));
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
const facts: Record<string, unknown> = {};
try {
  // 1. Full disk: 3 MB of output into a 64 KiB state root.
  const rt = new Runtime({ root: small });
  const c = await rt.run({ command: ['/bin/sh', '-c', 'yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 3000000; echo last-words >&2'], rootfs: rootfs.root, name: 'chatty' });
  facts.exit = await c.wait();
  const s = c.inspect();
  facts.logDropped = s.logDropped;
  facts.logError = s.logError;
  facts.df = execFileSync('df', ['-k', small], { encoding: 'utf8' }).trim().split('\n').pop();
  const lines = readFileSync(s.logPath, 'utf8').split('\n').filter(Boolean);
  facts.logLines = lines.length;
  facts.note = lines.map((l) => { try { return (JSON.parse(l) as { log: string }).log; } catch { return ''; } }).find((l) => l.startsWith('nsbox: ')) ?? null;
  const ps = cli(small, 'ps', '-a', '--format', 'json');
  facts.ps = { code: ps.code, status: ps.stdout ? (JSON.parse(ps.stdout.trim()) as { status: string }).status : null, stderr: ps.stderr };
  const inspect = cli(small, 'inspect', 'chatty');
  facts.inspect = { code: inspect.code, exitCode: inspect.stdout ? (JSON.parse(inspect.stdout) as Array<{ exitCode: number }>)[0]!.exitCode : null };
  const rm = cli(small, 'rm', 'chatty');
  facts.rm = rm.code;
  facts.leftovers = leftovers(small, [s]);

  // 2. A reader that never reads: an attach client connected before the container starts.
  const root2 = mkdtempSync(path.join(tmpdir(), 'nsbox-slow-'));
  const rt2 = new Runtime({ root: root2 });
  const b = await rt2.create({ command: ['/bin/sh', '-c', 'yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 8000000'], rootfs: rootfs.root });
  const sock = net.connect(path.join(root2, b.id, 'attach.sock'));
  // A failure to connect is reported (below), not an uncaught error that skips the cleanup.
  await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.pause();
  let received = 0;
  await b.start().catch(async (e: unknown) => {
    await b.remove({ force: true });
    throw e;
  });
  facts.slowExit = await b.wait();
  const ended = new Promise((r) => sock.once('close', r));
  sock.on('data', (d: Buffer) => (received += d.length));
  sock.resume();
  await ended;
  facts.slowReceived = received;
  const sb = b.inspect();
  facts.slowLogged = sb.logDropped === 0 ? readFileSync(sb.logPath, 'utf8').split('\n').filter(Boolean).reduce((n, l) => n + (JSON.parse(l) as { log: string }).log.length, 0) : -1;
  await b.remove();
  facts.slowLeftovers = leftovers(root2, [sb]);
  rmSync(root2, { recursive: true, force: true });
} catch (e) {
  facts.error = String((e as Error).stack ?? e);
} finally {
  spawnSync('umount', [small]);
  rmSync(small, { recursive: true, force: true });
  rootfs.remove();
}
process.stdout.write(`${JSON.stringify(facts)}\n`);
