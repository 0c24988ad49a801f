// Checks what a probe container (bundle.mjs PROBE_ARGS) printed about itself.
import fs from 'node:fs';

const NS_LINK = { pid: 'pid', ipc: 'ipc', uts: 'uts', mount: 'mnt', network: 'net', cgroup: 'cgroup', time: 'time', user: 'user' };

function ownNamespaces() {
  const m = {};
  for (const k of Object.values(NS_LINK)) {
    try {
      m[k] = fs.readlinkSync(`/proc/self/ns/${k}`);
    } catch {}
  }
  return m;
}

// Checks that the probe ran as pid 1 with hostname "bench" in fresh namespaces of each wanted kind and
// shares the others with the worker.
export function checkProbe(out, wanted) {
  const kv = Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const own = ownNamespaces();
  const problems = [];
  if (!out.trim()) return ['the probe printed nothing (exit 0 without running the command?)'];
  if (kv.self !== '1') problems.push(`pid is ${kv.self}, not 1`);
  if (kv.hostname !== 'bench') problems.push(`hostname is ${kv.hostname}`);
  for (const [kind, link] of Object.entries(NS_LINK)) {
    if (!own[link] || !kv[`ns_${link}`]) continue;
    const fresh = own[link] !== kv[`ns_${link}`];
    if (wanted.includes(kind) && !fresh) problems.push(`${kind} namespace not new`);
    if (!wanted.includes(kind) && fresh) problems.push(`${kind} namespace unexpectedly new`);
  }
  return problems;
}

