// How each OCI runtime under test is invoked, timed and cleaned up.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { which } from './sys.mjs';

// Cgroup handling (kept identical in every section and stated in the report):
//  - crun:  --cgroup-manager=disabled. With cgroupfs on cgroup v1, crun 1.8 treats every cgroupsPath as
//           absolute (default "/<id>"), i.e. outside the bench's own (workplace-owned) memory cgroup,
//           which the bench must not do.
//  - runc:  its default cgroupfs manager. runc 1.1 cannot disable cgroups; on v1 it creates <own cgroup>/<id>
//           in every hierarchy (relative to the bench's own cgroup) and removes it when the container exits.
//  - nsbox: whatever `nsbox-runtime run` does with a spec that has no linux.cgroupsPath.
export const CGROUP_POLICY = {
  'nsbox-runtime': 'no cgroupsPath in the spec (runtime default)',
  crun: '--cgroup-manager=disabled (no per-container cgroup)',
  runc: 'cgroupfs default: creates <own cgroup>/<id> per v1 hierarchy (runc 1.1 cannot disable)',
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
    list.push({
      name: 'crun',
      bin: 'crun',
      argv: (sub, bundle, id, extra = []) =>
        sub === 'run' ? ['--cgroup-manager=disabled', 'run', '--bundle', bundle, ...extra, id] : ['--cgroup-manager=disabled', sub, ...extra, id],
      stateRoots: ['/run/crun'],
      deleteArgv: (id) => ['--cgroup-manager=disabled', 'delete', '-f', id],
    });
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
  const r = spawnSync(rt.bin, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
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
