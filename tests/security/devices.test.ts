/**
 * Issue #9, device rules: container root holds CAP_MKNOD, so without rules in the devices cgroup
 * it could `mknod` a node for the host's disk and open it. The disk here is a loop device over a
 * 1 MiB image file of our own with a marker at its start; nothing else is ever opened.
 *
 * The nodes are made in the container's /dev (a tmpfs without nodev), not /tmp: the host view's
 * /tmp is nodev, where opening fails with EACCES whatever the cgroup says, and the test would pass
 * on the old code too.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';
import { run, type RunOptions } from 'nsbox';

import { runCli } from '../helpers/cli.js';
import { keyValues } from '../helpers/lines.js';
import { AS_NOBODY, nobodyCannotRun } from '../helpers/nobody.js';
import { needsRoot } from '../helpers/privileged.js';
import { makeBusyboxRootfs } from '../helpers/rootfs.js';
import { fixture, leftovers } from '../lifecycle/helpers.js';

const EPERM = 'Operation not permitted';

interface Loop {
  dev: string;
  major: number;
  minor: number;
  marker: string;
}

/** A loop device over a fresh 1 MiB image whose first bytes are `marker`; detached in teardown. */
function loopDevice(t: ExecutionContext): Loop {
  const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-dev-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const marker = `nsbox-marker-${randomBytes(4).toString('hex')}`;
  const image = path.join(dir, 'disk.img');
  const bytes = Buffer.alloc(1 << 20);
  bytes.write(marker);
  writeFileSync(image, bytes);
  const dev = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  // Registered before anything else can fail, and after the dir's, so it runs first (LIFO).
  t.teardown(() => execFileSync('losetup', ['-d', dev]));
  const [major, minor] = execFileSync('stat', ['-c', '%Hr %Lr', dev], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { dev, major: major!, minor: minor!, marker };
}

/**
 * Prints `NAME.read=` (the first bytes, or the error) and `NAME.write=` (`ok` or the error) for a
 * node; dd with count=0 opens for writing and writes nothing.
 */
const PROBE = `probe() {
  echo "$1.read=$(head -c 21 "$2" 2>&1 | tr -d '\\n')"
  if e=$(dd if=/dev/zero of="$2" bs=512 count=0 conv=notrunc 2>&1); then echo "$1.write=ok"; else echo "$1.write=$(echo $e | tr -d '\\n')"; fi
}
`;

/** The nodes every container needs: each line is `name=ok` or the failure. */
const STANDARD = `
std() { if out=$(sh -c "$2" 2>&1); then echo "$1=ok"; else echo "$1=$out" | tr -d '\\n'; echo; fi; }
std null 'echo x > /dev/null'
std zero '[ "$(head -c 3 /dev/zero | wc -c)" -eq 3 ]'
std urandom '[ "$(head -c 4 /dev/urandom | wc -c)" -eq 4 ]'
std random '[ "$(head -c 4 /dev/random | wc -c)" -eq 4 ]'
std full.enospc 'dd if=/dev/zero of=/dev/full bs=1 count=1'
std ptmx ': <> /dev/ptmx'
std pts '[ -e /dev/pts/ptmx ]'
echo "tty.open=$(sh -c ': <> /dev/tty' 2>&1 | tr -d '\\n')"
`;

async function inContainer(t: ExecutionContext, script: string, extra: Partial<RunOptions> = {}): Promise<Record<string, string>> {
  const r = await run({ command: ['/bin/sh', '-c', PROBE + script], ...extra } as RunOptions);
  t.is(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
  return keyValues(r.stdout ?? '');
}

for (const view of ['host view', '--rootfs busybox'] as const) {
  test.serial(`${view}: a mknod'ed node of a host disk can be made but neither read nor written`, async (t) => {
    if (!needsRoot(t)) return;
    const lo = loopDevice(t);
    const extra: Partial<RunOptions> = {};
    if (view !== 'host view') {
      const fs = makeBusyboxRootfs();
      t.teardown(fs.remove);
      extra.rootfs = fs.root;
    }
    const kv = await inContainer(t, `mknod /dev/d b ${lo.major} ${lo.minor}; echo mknod=$?\nprobe node /dev/d\n${STANDARD}`, extra);
    t.is(kv.mknod, '0', 'docker allows mknod of any node (c *:* m, b *:* m)');
    t.regex(kv['node.read'] ?? '', new RegExp(EPERM), `read must be refused, got ${kv['node.read']}`);
    t.false((kv['node.read'] ?? '').includes(lo.marker), 'the disk was read');
    t.regex(kv['node.write'] ?? '', new RegExp(EPERM), `write must be refused, got ${kv['node.write']}`);
    for (const n of ['null', 'zero', 'urandom', 'random', 'ptmx', 'pts']) t.is(kv[n], 'ok', `/dev/${n}: ${kv[n]}`);
    t.regex(kv['full.enospc'] ?? '', /No space left on device/, '/dev/full opens and says ENOSPC');
    // No terminal here: opening /dev/tty reaches the driver (ENXIO) only if the cgroup let it.
    t.notRegex(kv['tty.open'] ?? '', new RegExp(EPERM), `/dev/tty: ${kv['tty.open']}`);
  });
}

test.serial('--device gives the node read-write; HOST:CTR:r gives it read-only', async (t) => {
  if (!needsRoot(t)) return;
  const lo = loopDevice(t);
  const rw = await inContainer(t, `probe rw ${lo.dev}\nls -l ${lo.dev}`, { devices: [lo.dev] });
  t.is(rw['rw.read'], lo.marker);
  t.is(rw['rw.write'], 'ok');
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  const ro = await inContainer(t, 'probe ro /dev/xvdc\necho "stat=$(stat -c %t:%T /dev/xvdc)"', { devices: [`${lo.dev}:/dev/xvdc:r`], rootfs: fs.root });
  t.is(ro['ro.read'], lo.marker);
  t.regex(ro['ro.write'] ?? '', new RegExp(EPERM));
  t.is(ro.stat, `${lo.major.toString(16)}:${lo.minor.toString(16)}`);
});

test.serial('--device-cgroup-rule opens a mknod\'ed node for what it names only', async (t) => {
  if (!needsRoot(t)) return;
  const lo = loopDevice(t);
  const kv = await inContainer(t, `mknod /dev/d b ${lo.major} ${lo.minor}\nprobe node /dev/d`, { deviceCgroupRules: [`b ${lo.major}:${lo.minor} r`] });
  t.is(kv['node.read'], lo.marker);
  t.regex(kv['node.write'] ?? '', new RegExp(EPERM));
});

test.serial('--privileged allows every device, as docker', async (t) => {
  if (!needsRoot(t)) return;
  const lo = loopDevice(t);
  const kv = await inContainer(t, `mknod /dev/d b ${lo.major} ${lo.minor}\nprobe node /dev/d`, { privileged: true });
  t.is(kv['node.read'], lo.marker);
});

test.serial('rootless (as nobody): mknod is refused outright by the user namespace', async (t) => {
  if (!needsRoot(t)) return; // setpriv to nobody needs root
  const why = nobodyCannotRun();
  if (why) return t.fail(`cannot run the CLI as nobody from this checkout: ${why}`);
  const lo = loopDevice(t);
  const script = `mknod /dev/d b ${lo.major} ${lo.minor} 2>&1; echo rc=$?; echo null=$(echo x > /dev/null && echo ok)`;
  const r = await runCli(['run', '--', '/bin/sh', '-c', script], { prefix: AS_NOBODY });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(EPERM));
  t.regex(r.stdout, /rc=1\n/);
  t.regex(r.stdout, /null=ok/);
});

test.serial('each of the container\'s cgroups denies on its own (v1 devices list, cgroup2 program), and goes with it', async (t) => {
  if (!needsRoot(t)) return;
  const lo = loopDevice(t);
  const f = fixture();
  t.teardown(() => f.dispose());
  const c = await f.rt.create({ command: ['/bin/sleep', '1000'], rootfs: f.rootfs.root });
  // Held at created: the rules are in force before the child builds its root.
  const s = c.inspect();
  const v1 = s.cgroups.filter((d) => existsSync(`${d}/devices.list`));
  const v2 = s.cgroups.filter((d) => existsSync(`${d}/cgroup.controllers`));
  t.log(`v1 devices: ${v1.join(', ') || 'none'}; cgroup2: ${v2.join(', ') || 'none'}`);
  t.true(v1.length + v2.length > 0, 'the container has a cgroup that holds device rules');
  for (const d of v1) t.is(readFileSync(`${d}/devices.list`, 'utf8').split('\n').filter(Boolean).length, 11, `${d}: docker's list`);
  // A host shell moved into ONE of the container's cgroups: in the others it stays in ours (allow all).
  for (const d of [...v1, ...v2]) {
    const r = spawnSync('/bin/sh', ['-c', `echo $$ > ${d}/cgroup.procs && exec head -c 21 ${lo.dev}`], { encoding: 'utf8' });
    t.regex(r.stderr, new RegExp(EPERM), `${d} alone must deny reading ${lo.dev}; stdout ${r.stdout}`);
  }
  // exec'd processes join the same cgroups, so the same rules hold for them.
  await c.start();
  const p = c.exec(['/bin/sh', '-c', `mknod /dev/e b ${lo.major} ${lo.minor} && head -c 21 /dev/e`], { stdout: 'pipe', stderr: 'pipe' });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  t.not((await p.wait()).exitCode, 0);
  t.regex(out, new RegExp(EPERM), `exec: ${out}`);
  await c.remove({ force: true });
  t.deepEqual(leftovers(f.root, [s]), [], 'cgroups (and the program attached to the cgroup2 one) removed');
});
