// How each OCI runtime under test is invoked, timed and cleaned up.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { which } from './sys.mjs';

// Cgroup handling (identical for all three and stated in the report). The harness runs the runtimes in
// its own cgroup namespace with every v1 hierarchy re-rooted at the bench's own cgroup (lib/worker.mjs),
// and no spec sets linux.cgroupsPath. Then:
//  - crun (cgroupfs): creates /<id>, i.e. <bench's own cgroup>/<id>, in every hierarchy;
//  - runc (cgroupfs): creates <own cgroup>/<id> in every hierarchy;
//  - nsbox: creates <own cgroup>/nsbox-<id> in every hierarchy but cpuset.
// An extra row runs crun with --cgroup-manager=disabled to show what the cgroup work costs.
export const CGROUP_POLICY = {
  'nsbox-runtime': 'runtime default: <own cgroup>/nsbox-<id> per hierarchy (not cpuset)',
  crun: 'cgroupfs (default): <own cgroup>/<id> per hierarchy; extra row with --cgroup-manager=disabled',
  runc: 'cgroupfs (default): <own cgroup>/<id> per hierarchy',
};

export function makeRuntimes(nsboxBin) {
  const list = [];
  if (nsboxBin && fs.existsSync(nsboxBin)) {
    list.push({
      name: 'nsbox-runtime',
      bin: nsboxBin,
      argv: (sub, bundle, id, extra = []) =>
        sub === 'run' ? ['run', '--bundle', bundle, ...extra, id] : [sub, ...extra, id],
      stateRoots: ['/run/nsbox', '/run/nsbox-runtime'],
      deleteArgv: (id) => ['delete', '--force', id],
    });
  }
  if (which('crun')) {
    for (const global of [[], ['--cgroup-manager=disabled']]) {
      list.push({
        name: global.length ? 'crun (--cgroup-manager=disabled)' : 'crun',
        variantOf: global.length ? 'crun' : undefined,
        bin: 'crun',
        argv: (sub, bundle, id, extra = []) => (sub === 'run' ? [...global, 'run', '--bundle', bundle, ...extra, id] : [...global, sub, ...extra, id]),
        stateRoots: ['/run/crun'],
        deleteArgv: (id) => [...global, 'delete', '-f', id],
      });
    }
  }
  if (which('runc')) {
    list.push({
      name: 'runc',
      bin: 'runc',
      argv: (sub, bundle, id, extra = []) => (sub === 'run' ? ['run', '--bundle', bundle, ...extra, id] : [sub, ...extra, id]),
      stateRoots: ['/run/runc'],
      deleteArgv: (id) => ['delete', '-f', id],
    });
  }
  return list;
}

export function commandLine(bin, args) {
  return [bin, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

// Removes any state a runtime left for `id`. Returns true when something lingered.
export function cleanup(rt, id) {
  const lingering = rt.stateRoots.some((root) => fs.existsSync(path.join(root, id)));
  if (lingering) spawnSync(rt.bin, rt.deleteArgv(id), { stdio: 'ignore' });
  return lingering;
}

// Times one foreground run from spawn to exit. stdout is discarded, stderr kept for error reports.
export function timedRun(rt, bundle, id, extra = []) {
  const args = rt.argv('run', bundle, id, extra);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(rt.bin, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const lingered = cleanup(rt, id);
  const ok = !r.error && r.status === 0;
  return {
    ms,
    ok,
    lingered,
    error: ok ? null : { command: commandLine(rt.bin, args), status: r.status, signal: r.signal, stderr: (r.stderr || String(r.error ?? '')).trim() },
  };
}

// Runs a bundle once and captures stdout (for probes).
export function captureRun(rt, bundle, id) {
  const args = rt.argv('run', bundle, id);
  const r = spawnSync(rt.bin, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 20000 });
  cleanup(rt, id);
  return {
    ok: !r.error && r.status === 0,
    stdout: r.stdout ?? '',
    command: commandLine(rt.bin, args),
    status: r.status,
    signal: r.signal,
    stderr: (r.stderr || String(r.error ?? '')).trim(),
  };
}
