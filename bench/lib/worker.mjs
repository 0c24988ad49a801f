// Entry point run under `unshare --mount --cgroup --propagation private` (see privns.mjs): prepares the
// cgroup mounts, then calls an exported function of a section module and writes its JSON result to a file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { mountsAt } from './sys.mjs';

const [modulePath, fnName, argsFile, outFile] = process.argv.slice(2);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`\`${cmd} ${args.join(' ')}\` (harness, private mount ns) failed: ${r.stderr.trim() || r.error}`);
}

// ownCgroups: the bench's /proc/self/cgroup as seen from the host cgroup namespace.
function prepareCgroups(ownCgroups) {
  const notes = [];
  if (mountsAt('/sys/fs/cgroup/unified').length > 0) {
    run('umount', ['/sys/fs/cgroup/unified']);
    notes.push('/sys/fs/cgroup/unified (hybrid cgroup2) unmounted in the harness\'s private mount namespace');
  }
  const own = new Map();
  for (const line of ownCgroups.trim().split('\n')) {
    const m = line.match(/^\d+:([^:]*):(.*)$/);
    if (m && m[1]) own.set(m[1], m[2]);
  }
  const rerooted = [];
  for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')) {
    const [pre, post] = l.split(' - ');
    const [, , , , mnt] = pre.split(' ');
    const [fstype, , superOpts = ''] = post.split(' ');
    if (fstype !== 'cgroup') continue;
    const opts = superOpts.split(',');
    const entry = [...own].find(([ctrls]) => ctrls.split(',').every((c) => opts.includes(c)));
    if (!entry || entry[1] === '/') continue;
    // Re-root this hierarchy at our own cgroup: bind it aside, unmount the original, move the bind in.
    const aside = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-bench-cg-'));
    run('mount', ['--bind', path.join(mnt, entry[1]), aside]);
    run('umount', [mnt]);
    run('mount', ['--move', aside, mnt]);
    fs.rmdirSync(aside);
    rerooted.push(`${entry[0]}:${entry[1]}`);
  }
  notes.push(
    'the harness runs in its own cgroup namespace' +
      (rerooted.length ? ` with the v1 hierarchies re-rooted at the bench's own cgroup (${rerooted.join(', ')})` : '') +
      ', so every per-container cgroup lands below the bench\'s own cgroup',
  );
  return notes.join('; ');
}

try {
  const args = JSON.parse(fs.readFileSync(argsFile, 'utf8'));
  const cgroupNote = prepareCgroups(args.ownCgroups);
  const mod = await import(pathToFileURL(modulePath).href);
  const result = await mod[fnName]({ ...args, cgroupNote });
  fs.writeFileSync(outFile, JSON.stringify({ result }));
} catch (e) {
  fs.writeFileSync(outFile, JSON.stringify({ error: { message: e?.message ?? String(e), stack: e?.stack } }));
  process.exitCode = 1;
}
