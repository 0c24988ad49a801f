#!/usr/bin/env node
// package.json `prepare`: npm runs it after `npm install` in a clone (then it builds everything:
// `npm run build`), but also whenever `npx nsbox` / `npm exec nsbox` is run in a clone: npm exec
// installs the clone into its cache as a link and runs its `prepare` there, which would rebuild the
// runtime, the addon and cli/dist in place on the first `npx nsbox`. So under npm exec
// (npm_command=exec) the build is skipped when its outputs are already there; a clone that was never
// built still gets built, so `npx nsbox` works either way.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The build's outputs that `nsbox` needs to run from this checkout. */
function built() {
  const native = path.join(root, 'ts/native');
  const addon = fs.existsSync(native) && fs.readdirSync(native).some((f) => f.endsWith('.node'));
  const runtime = process.env.NSBOX_RUNTIME || path.join(root, 'target/release/nsbox-runtime');
  return addon && [runtime, 'ts/dist/index.js', 'cli/dist/main.js'].every((p) => fs.existsSync(path.resolve(root, p)));
}

if (process.env.npm_command === 'exec' && built()) {
  process.stderr.write('nsbox: prepare under npm exec: already built, not rebuilding (run `npm run build` to rebuild)\n');
  process.exit(0);
}
// npm's own CLI when npm runs us (the same npm), else the one on PATH.
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const r = spawnSync(npm[0], [...npm.slice(1), 'run', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
