// The cost of the sealed re-exec (bench/README.md, "Sealed re-exec"): `nsbox-runtime run --bundle B ID`
// of /bin/true, start to exit, with each mechanism (NSBOX_SEAL=bind|memfd) and with none. "none" is the
// same binary on a read-only bind mount made here, which the runtime takes as already sealed and so
// does not re-exec. Rows are interleaved round by round so load drifts hit all of them alike.
//
//   sudo node bench/sealed.mjs [RUNTIME]      # NSBOX_BENCH_RUNS (default 60), as root
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ADJUSTMENTS, buildRootfs, makeBundle } from './lib/bundle.mjs';
import { summarize } from './lib/stats.mjs';
import { benchDir } from './lib/sys.mjs';

const runs = Number(process.env.NSBOX_BENCH_RUNS ?? 60);
const built = path.resolve(process.argv[2] ?? path.join(benchDir, '../target/release/nsbox-runtime'));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-sealed-bench-'));
const must = (r, what) => {
  if (r.status !== 0) throw new Error(`${what}: ${r.status} ${r.stderr}`);
  return r;
};

const plain = path.join(scratch, 'plain/nsbox-runtime');
const ro = path.join(scratch, 'ro/nsbox-runtime');
for (const f of [plain, ro]) {
  fs.mkdirSync(path.dirname(f));
  fs.copyFileSync(built, f);
  fs.chmodSync(f, 0o755);
}
const roDir = path.dirname(ro);
must(spawnSync('mount', ['--bind', roDir, roDir], { encoding: 'utf8' }), 'bind ro dir');
must(spawnSync('mount', ['-o', 'remount,bind,ro', roDir], { encoding: 'utf8' }), 'remount ro');

const rows = [
  { name: 'none (binary on a read-only mount: no re-exec)', bin: ro, env: {} },
  { name: 'bind (detached read-only bind + execveat)', bin: plain, env: { NSBOX_SEAL: 'bind' } },
  { name: 'memfd (sealed copy + execveat)', bin: plain, env: { NSBOX_SEAL: 'memfd' } },
];
try {
  const bundle = makeBundle(scratch, 'bundle', buildRootfs(scratch), { adjustments: Object.keys(ADJUSTMENTS) });
  const root = path.join(scratch, 'state');
  let n = 0;
  const once = (row) => {
    const id = `sealed-bench-${process.pid}-${n++}`;
    const t0 = process.hrtime.bigint();
    const r = spawnSync(row.bin, ['--root', root, 'run', '--bundle', bundle.dir, id], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { PATH: process.env.PATH, ...row.env } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    must(r, `${row.name}: run`);
    return ms;
  };
  for (const row of rows) for (let i = 0; i < 3; i++) once(row);
  const samples = rows.map(() => []);
  for (let i = 0; i < runs; i++) rows.forEach((row, j) => samples[j].push(once(row)));
  const base = summarize(samples[0]).median;
  console.log(`runs per row: ${runs}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; binary ${fs.statSync(built).size} bytes`);
  rows.forEach((row, j) => {
    const s = summarize(samples[j]);
    console.log(`${row.name.padEnd(50)} median ${s.median.toFixed(2)} ms  (+${(s.median - base).toFixed(2)} ms)  min ${s.min.toFixed(2)}  p90 ${s.p90.toFixed(2)}`);
  });
} finally {
  spawnSync('umount', [roDir]);
  fs.rmSync(scratch, { recursive: true, force: true });
}
