// Host facts, peer installation and process helpers shared by the bench sections.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(benchDir, '..');

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return {
    status: r.status,
    signal: r.signal,
    error: r.error,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    ok: !r.error && r.status === 0,
  };
}

export function which(cmd) {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

export const isRoot = () => process.getuid?.() === 0;

export function log(...a) {
  process.stderr.write(`[bench] ${a.join(' ')}\n`);
}

export function dpkgVersion(pkg) {
  const r = sh('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg]);
  if (!r.ok) return null;
  const [status, version] = r.stdout.split('\t');
  return status.includes('install ok installed') ? version : null;
}

// Installs crun, runc and busybox-static (or the packages given) with apt if any is missing. Returns
// notes for the report.
export function ensurePeers(wanted = ['crun', 'runc', 'busybox-static']) {
  const notes = [];
  const missing = wanted.filter((p) => !dpkgVersion(p));
  if (missing.length === 0) return notes;
  if (!isRoot() || !which('apt-get')) {
    notes.push(`missing ${missing.join(', ')} and cannot install them (need root and apt-get)`);
    return notes;
  }
  const policy = sh('apt-cache', ['policy', ...missing]).stdout;
  if (!policy.trim() || /Candidate: \(none\)/.test(policy)) {
    log('apt-get update (no install candidate for', missing.join(', ') + ')');
    const u = sh('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (!u.ok) notes.push(`apt-get update failed: ${u.stderr.trim().split('\n').pop()}`);
  }
  log('apt-get install -y', missing.join(' '));
  const r = sh('apt-get', ['install', '-y', ...missing], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  notes.push(r.ok ? `installed ${missing.join(', ')}` : `apt-get install ${missing.join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`);
  return notes;
}

export function firstLine(s) {
  return (s ?? '').trim().split('\n')[0] ?? '';
}

export function hostInfo() {
  const cpu = os.cpus();
  let git = sh('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']).stdout.trim();
  const dirty = sh('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'crates', 'ts', 'cli']).stdout.trim();
  if (dirty) git += ' (+uncommitted changes)';
  return {
    date: new Date().toISOString(),
    kernel: `${os.release()}`,
    cpu: `${cpu[0]?.model ?? '?'} x${cpu.length}`,
    node: process.version,
    nsboxCommit: git,
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    cgroupLayout: cgroupLayout(),
  };
}

export function mountsAt(target) {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === target);
}

export function cgroupLayout() {
  const root = mountsAt('/sys/fs/cgroup').map((l) => l.split(' - ')[1]?.split(' ')[0]);
  if (root.includes('cgroup2')) return 'unified (cgroup v2)';
  const unified = mountsAt('/sys/fs/cgroup/unified').length > 0;
  return unified ? 'hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)' : 'legacy (cgroup v1)';
}

export function peerVersions(nsboxBin) {
  const v = {};
  v.crun = which('crun') ? `${firstLine(sh('crun', ['--version']).stdout)} (deb ${dpkgVersion('crun') ?? '?'})` : null;
  v.runc = which('runc') ? `${firstLine(sh('runc', ['--version']).stdout)} (deb ${dpkgVersion('runc') ?? '?'})` : null;
  v.busybox = fs.existsSync('/bin/busybox') ? `${firstLine(sh('/bin/busybox', []).stdout)} (deb busybox-static ${dpkgVersion('busybox-static') ?? '?'})` : null;
  if (nsboxBin && fs.existsSync(nsboxBin)) {
    const st = fs.statSync(nsboxBin);
    const r = sh(nsboxBin, ['--version']);
    v.nsbox = `${r.ok ? firstLine(r.stdout) : 'nsbox-runtime'} (${path.relative(repoRoot, nsboxBin)}, built ${st.mtime.toISOString()})`;
  } else v.nsbox = null;
  return v;
}

export function nsboxRuntimePath() {
  return process.env.NSBOX_RUNTIME ?? path.join(repoRoot, 'target/release/nsbox-runtime');
}

export function envInt(name, dflt) {
  const v = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

// Ctrl-C / SIGTERM: remember it; the loops call checkInterrupted() between runs and unwind through their
// `finally` blocks, which remove containers, cgroups and the scratch directory.
let interrupted = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = sig;
  });
}
// Async on purpose: the loops run spawnSync back to back, which never lets the event loop deliver a
// signal to the handler above; one setImmediate turn does.
export async function checkInterrupted() {
  await new Promise((resolve) => setImmediate(resolve));
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
}
