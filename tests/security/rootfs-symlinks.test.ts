/**
 * Issue #9, class 4 (runc CVE-2019-19921 and the 2025 mount-target CVEs): a malicious rootfs must
 * not move /proc, /sys or /dev, nor turn off the masks. With `rootfs/proc` a symlink, proc used to be
 * mounted where it points (under /dev's tmpfs), every /proc mask was skipped as "missing", and
 * container root mounted a fresh, writable procfs in a nested user namespace and wrote host-wide
 * sysctls. Busybox rootfs trees where `proc`, `sys` or `dev` is a symlink, or a volume target
 * symlinks into /proc/sys: `nsbox run` must exit 125 naming the path and the link, and leave nothing
 * behind (mountinfo and /run of a throwaway host exactly as before; no state, no cgroup, the rootfs
 * unchanged). The attack itself runs as the command: a same-value write of vm.overcommit_memory,
 * directly and through a nested procfs, and reads of docker's masked /proc files.
 * (Started from the shared attack test in /work/main/tests/security; see the report for changes.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { ociConfig } from '../../ts/src/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { cliInThrowawayHost, hostMountinfo } from '../helpers/host.js';
import { needsRoot } from '../helpers/privileged.js';
import { makeBusyboxRootfs, type Rootfs } from '../helpers/rootfs.js';
import { hostDir, told } from './helpers.js';

const RUNTIME = process.env.NSBOX_RUNTIME ?? path.resolve(new URL('../../target/release/nsbox-runtime', import.meta.url).pathname);

/** Replaces `name` (a directory of the rootfs) with a symlink to `to`. */
function plant(fs: Rootfs, name: string, to: string): void {
  rmSync(path.join(fs.root, name), { recursive: true, force: true });
  symlinkSync(to, path.join(fs.root, name));
}

/** Every path under the rootfs, to show a refused start changed nothing in it. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

/**
 * A fresh cgroup below ours in every hierarchy we can write (cpuset left out, as the runtime
 * does): the CLI runs inside them, so whatever cgroup the runtime makes is below these and
 * nothing else running on the machine can be mistaken for a leftover.
 */
function jailCgroups(t: ExecutionContext): string[] {
  const mounts = readFileLines('/proc/self/mountinfo').map((l) => l.split(' ')).filter((f) => f[f.indexOf('-') + 1]?.startsWith('cgroup'));
  const tag = `nsbox-test-jail-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const jails: string[] = [];
  for (const line of readFileLines('/proc/self/cgroup')) {
    const [, ctrls = '', rel = '/'] = line.split(':');
    if (ctrls.split(',').includes('cpuset')) continue;
    const mount = mounts.find((f) => {
      const dash = f.indexOf('-');
      if (ctrls === '') return f[dash + 1] === 'cgroup2';
      const opts = (f[dash + 3] ?? '').split(',');
      return f[dash + 1] === 'cgroup' && ctrls.split(',').every((c) => opts.includes(c));
    });
    if (!mount) continue;
    const dir = path.join(mount[4]!, rel, tag);
    try {
      mkdirSync(dir);
      jails.push(dir);
    } catch {
      /* not ours to write (a read-only or delegated hierarchy): the runtime skips it too */
    }
  }
  t.teardown(() => {
    for (const d of jails) {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(d);
          break;
        } catch {
          spawnSync('sleep', ['0.05']);
        }
      }
    }
  });
  return jails;
}

function readFileLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

/** Runs the CLI with its own state root inside fresh cgroups; returns what it left behind. */
async function runAndCount(t: ExecutionContext, fs: Rootfs, args: string[]): Promise<{ r: CliResult; left: string[] }> {
  const stateRoot = mkdtempSync(path.join(tmpdir(), 'nsbox-sec-root-'));
  t.teardown(() => rmSync(stateRoot, { recursive: true, force: true }));
  const jails = jailCgroups(t);
  t.true(jails.length > 0, 'no cgroup hierarchy to watch for leftovers');
  const join = 'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 99; shift; done; shift; exec "$@"';
  const before = listing(fs.root);
  const r = await runCli(args, { prefix: ['sh', '-c', join, 'sh', ...jails, '--'], env: { ...process.env, NSBOX_ROOT: stateRoot } });
  const left: string[] = [];
  for (const j of jails) for (const e of readdirSync(j, { withFileTypes: true })) if (e.isDirectory()) left.push(`cgroup ${j}/${e.name}`);
  const state = readdirSync(stateRoot).filter((n) => !['names', 'events.jsonl', '.lock'].includes(n));
  if (state.length) left.push(`state: ${state.join(', ')}`);
  if (hostMountinfo().includes(fs.root)) left.push('a mount on the rootfs');
  const after = listing(fs.root);
  if (after.join('\n') !== before.join('\n')) left.push(`rootfs changed: ${after.filter((p) => !before.includes(p)).join(', ')}`);
  return { r, left };
}

const SYSCTL = 'vm/overcommit_memory';

/** Docker's masked /proc files that this kernel has (the others cannot leak anything here). */
const MASKED = ['kcore', 'keys', 'timer_list', 'sched_debug', 'latency_stats', 'timer_stats'].filter((f) => existsSync(`/proc/${f}`));

/**
 * Busybox sh. Masked means /dev/null bound over it (char 1:3): procfs files all say size 0, so
 * `[ -s ]` cannot tell. The nested procfs is mounted by `unshare --mount-proc` itself, before it
 * execs (after exec, with no uid map, the shell has no capabilities left to mount anything); /dev
 * is a mount point we may use. Its files are read for content, since none of them is masked.
 */
function attackScript(value: string): string {
  const nested = [
    'echo nested-proc-mounted',
    `echo ${value} > /dev/sys/${SYSCTL} 2>/dev/null && echo WROTE-nested`,
    ...MASKED.map((f) => `[ -n "$(head -c1 /dev/${f} 2>/dev/null)" ] && echo UNMASKED-nested-${f}`),
    'true',
  ].join('; ');
  return [
    `echo ${value} > /proc/sys/${SYSCTL} 2>/dev/null && echo WROTE-direct`,
    ...MASKED.map((f) => `[ -e /proc/${f} ] && [ "$(stat -c %t:%T /proc/${f})" != 1:3 ] && echo UNMASKED-${f}`),
    `unshare -Upfm --mount-proc=/dev sh -c '${nested}'`,
    'echo attack-done',
  ].join('; ');
}

interface Variant {
  label: string;
  /** What the malicious rootfs does to itself; returns extra `run` flags. */
  prepare(t: ExecutionContext, fs: Rootfs): string[];
  /** The refusal, naming the path and the link. */
  message: RegExp;
}

const variants: Variant[] = [
  { label: 'proc → dev', prepare: (_t, fs) => (plant(fs, 'proc', 'dev'), []), message: /mount proc\(\/proc\): ELOOP: \/proc is a symlink in the rootfs \(-> dev\); refusing to mount there/ },
  {
    // The layout that reached the host on the old code: proc mounted on rootfs/dev/x lies under
    // /dev's tmpfs without being covered by it, so the kernel counts it fully visible and lets a
    // nested user namespace mount a fresh, unmasked, writable one.
    label: 'proc → dev/x (the full attack)',
    prepare: (_t, fs) => (mkdirSync(path.join(fs.root, 'dev', 'x')), plant(fs, 'proc', 'dev/x'), []),
    message: /mount proc\(\/proc\): ELOOP: \/proc is a symlink in the rootfs \(-> dev\/x\)/,
  },
  { label: 'sys → dev', prepare: (_t, fs) => (plant(fs, 'sys', 'dev'), []), message: /mount sysfs\(\/sys\): ELOOP: \/sys is a symlink in the rootfs \(-> dev\)/ },
  { label: 'dev → tmp', prepare: (_t, fs) => (plant(fs, 'dev', 'tmp'), []), message: /mount tmpfs\(\/dev\): ELOOP: \/dev is a symlink in the rootfs \(-> tmp\)/ },
  {
    label: 'volume target → /proc/sys',
    prepare: (t, fs) => (plant(fs, 'data', '/proc/sys'), ['-v', `${hostDir(t)}:/data`]),
    message: /bind\(\/data\): ELOOP: \/data is a symlink in the rootfs \(-> \/proc\/sys\); refusing to bind \/data there: it leads into procfs/,
  },
];

for (const v of variants) {
  test(`malicious rootfs, ${v.label}: refused at start (exit 125, naming the path and link), nothing left behind`, async (t) => {
    if (!needsRoot(t)) return;
    const fs = makeBusyboxRootfs();
    t.teardown(fs.remove);
    const flags = v.prepare(t, fs);
    const value = readFileSync(`/proc/sys/${SYSCTL}`, 'utf8').trim();
    const args = ['run', '--rm', '--rootfs', fs.root, ...flags, '--', '/bin/sh', '-c', attackScript(value)];

    const h = cliInThrowawayHost(args);
    t.is(h.code, 125, `the start must be refused; stderr: ${h.stderr}`);
    t.regex(h.stderr, v.message);
    t.is(h.after, h.before, 'mountinfo and /run exactly as before');

    // Again where we can see what the attack did (were it not refused) and count leftovers.
    const { r, left } = await runAndCount(t, fs, args);
    t.is(r.code, 125, told(r));
    t.regex(r.stderr, v.message);
    t.notRegex(r.stdout, /WROTE-|UNMASKED-|nested-proc-mounted/, told(r));
    t.deepEqual(left, []);
    t.is(readFileSync(`/proc/sys/${SYSCTL}`, 'utf8').trim(), value);
  });
}

test('control: in an honest rootfs the same attack starts and meets the masks, the read-only /proc/sys, and no nested procfs', async (t) => {
  if (!needsRoot(t)) return;
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  const value = readFileSync(`/proc/sys/${SYSCTL}`, 'utf8').trim();
  const { r, left } = await runAndCount(t, fs, ['run', '--rm', '--rootfs', fs.root, '--', '/bin/sh', '-c', attackScript(value)]);
  t.is(r.code, 0, told(r));
  t.regex(r.stdout, /attack-done/, told(r));
  t.notRegex(r.stdout, /WROTE-|UNMASKED-|nested-proc-mounted/, told(r));
  t.true(MASKED.includes('keys') && MASKED.includes('timer_list'), `this kernel's masked files: ${MASKED.join(', ')}`);
  t.deepEqual(left, []);
});

test('a bundle without a /proc mount cannot have its /proc masks skipped: its /proc is not a procfs', async (t) => {
  if (!needsRoot(t)) return;
  const fs = makeBusyboxRootfs();
  t.teardown(fs.remove);
  const spec = ociConfig({ command: ['/bin/true'], rootfs: fs.root }) as { mounts: Array<{ destination: string }> };
  spec.mounts = spec.mounts.filter((m) => m.destination !== '/proc');
  writeFileSync(path.join(fs.dir, 'config.json'), JSON.stringify(spec));
  const stateRoot = mkdtempSync(path.join(tmpdir(), 'nsbox-sec-root-'));
  t.teardown(() => rmSync(stateRoot, { recursive: true, force: true }));
  const r = spawnSync(RUNTIME, ['--root', stateRoot, 'run', '--bundle', fs.dir, `sec-noproc-${process.pid}`], { encoding: 'utf8' });
  t.is(r.status, 125, r.stderr);
  t.regex(r.stderr, /mask\(\/proc\/[a-z_]+\): EXDEV: .*\/proc is not a procfs/);
  t.false(hostMountinfo().includes(fs.root));
});
