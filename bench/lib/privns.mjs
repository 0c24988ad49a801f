// Runs part of a section inside a private mount namespace and a new cgroup namespace (see worker.mjs):
//  - the cgroup2 mount of a hybrid layout (/sys/fs/cgroup/unified) is unmounted there, because crun 1.8
//    refuses hybrid cgroups ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2");
//  - every v1 hierarchy mount is re-rooted at the bench's own cgroup, so that all three runtimes create
//    their per-container cgroups in the same place, below our own cgroup (crun 1.8 treats any
//    cgroupsPath as absolute from the hierarchy root; runc and nsbox nest below their own cgroup).
// This is harness-only: the runtimes under test are all started from inside the same namespaces.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { benchDir, which } from './sys.mjs';

export function runInPrivateMountNs(modulePath, fnName, args, scratch) {
  if (!which('unshare')) throw new Error('unshare(1) not found (util-linux)');
  const tag = `${path.basename(modulePath, '.mjs')}-${fnName}-${process.hrtime.bigint()}`;
  const argsFile = path.join(scratch, `${tag}.args.json`);
  const outFile = path.join(scratch, `${tag}.out.json`);
  const ownCgroups = fs.readFileSync('/proc/self/cgroup', 'utf8');
  fs.writeFileSync(argsFile, JSON.stringify({ ...args, ownCgroups }));
  const r = spawnSync(
    'unshare',
    ['--mount', '--cgroup', '--propagation', 'private', '--', process.execPath, path.join(benchDir, 'lib/worker.mjs'), modulePath, fnName, argsFile, outFile],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.error) throw r.error;
  if (!fs.existsSync(outFile)) throw new Error(`private-namespace worker for ${fnName} exited ${r.status ?? r.signal} without a result`);
  const out = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  if (out.error) throw Object.assign(new Error(out.error.message), { stack: out.error.stack });
  return out.result;
}
