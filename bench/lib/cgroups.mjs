// Finds (and removes) cgroups the bench's containers left below the bench's own cgroup.
// Only directories whose name starts with the bench's id prefix are touched, and only below our own
// cgroup in each hierarchy; the cgroups we start in are never moved or removed.
import fs from 'node:fs';
import path from 'node:path';

function ownCgroupDirs() {
  const own = new Map(); // controller key -> path
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, ctrls, p] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    if (p !== undefined) own.set(ctrls, p);
  }
  const dirs = [];
  const roots = [];
  for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')) {
    const [pre, post] = l.split(' - ');
    const mnt = pre.split(' ')[4];
    const [fstype, , superOpts = ''] = post.split(' ');
    if (fstype === 'cgroup' || fstype === 'cgroup2') roots.push(mnt);
    if (fstype === 'cgroup2') {
      if (own.has('')) dirs.push(path.join(mnt, own.get('')));
    } else if (fstype === 'cgroup') {
      const opts = superOpts.split(',');
      for (const [ctrls, p] of own) {
        if (ctrls && ctrls.split(',').every((c) => opts.includes(c))) dirs.push(path.join(mnt, p));
      }
    }
  }
  return { dirs, roots };
}

function removeTree(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(path.join(dir, e.name));
  fs.rmdirSync(dir);
}

// Returns { found: [paths], outside: [paths created outside our own cgroup], errors }.
export function sweepCgroups(prefixes) {
  const found = [];
  const outside = [];
  const errors = [];
  const { dirs, roots } = ownCgroupDirs();
  const bases = [...new Set([...dirs, ...roots])];
  for (const base of bases) {
    let entries;
    try {
      entries = fs.readdirSync(base, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isDirectory() || !prefixes.some((p) => e.name.startsWith(p))) continue;
      const p = path.join(base, e.name);
      if (found.includes(p)) continue;
      found.push(p);
      if (!dirs.includes(base)) outside.push(p);
      try {
        removeTree(p);
      } catch (err) {
        errors.push(`${p}: ${err.code ?? err.message}`);
      }
    }
  }
  return { found, outside, errors };
}
