// Entry point run under `unshare --mount --propagation private`: hides the hybrid cgroup2 mount, then
// calls an exported function of a section module and writes its JSON result to a file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { mountsAt } from './sys.mjs';

const [modulePath, fnName, argsFile, outFile] = process.argv.slice(2);

function hideUnified() {
  if (mountsAt('/sys/fs/cgroup/unified').length === 0) return 'no cgroup2 mount at /sys/fs/cgroup/unified';
  const r = spawnSync('umount', ['/sys/fs/cgroup/unified'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`umount /sys/fs/cgroup/unified (private mount ns) failed: ${r.stderr.trim()}`);
  return 'unmounted /sys/fs/cgroup/unified in a private mount namespace (harness only)';
}

try {
  const args = JSON.parse(fs.readFileSync(argsFile, 'utf8'));
  const cgroupNote = hideUnified();
  const mod = await import(pathToFileURL(modulePath).href);
  const result = await mod[fnName]({ ...args, cgroupNote });
  fs.writeFileSync(outFile, JSON.stringify({ result }));
} catch (e) {
  fs.writeFileSync(outFile, JSON.stringify({ error: { message: e?.message ?? String(e), stack: e?.stack } }));
  process.exitCode = 1;
}
