#!/usr/bin/env node
// `npm pack`'s prepack (and the pack test): puts this machine's nsbox-runtime into ts/native next to
// the addon, named by the same platform triple (`nsbox-runtime.linux-x64-gnu` beside
// `nsbox.linux-x64-gnu.node`), which is where an installed package looks for it (ts/src/platform.ts).
// `--clean` (postpack) removes the copy again, so a checkout keeps using target/release.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const native = path.join(root, 'ts/native');

// The same triple ts/src/platform.ts computes (napi-rs's names).
function triple() {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`;
  let musl = false;
  try { musl = fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl'); } catch { /* glibc */ }
  return `linux-${process.arch}-${musl ? 'musl' : process.arch === 'arm' ? 'gnueabihf' : 'gnu'}`;
}

const staged = path.join(native, `nsbox-runtime.${triple()}`);
if (process.argv[2] === '--clean') {
  fs.rmSync(staged, { force: true });
  process.exit(0);
}

const need = [
  [path.join(root, 'target/release/nsbox-runtime'), 'npm run build:rust'],
  [path.join(native, `nsbox.${triple()}.node`), 'npm run build:napi'],
  [path.join(root, 'ts/dist/index.js'), 'npm run build:ts'],
  [path.join(root, 'cli/dist/main.js'), 'npm run build:ts'],
];
const missing = need.filter(([f]) => !fs.existsSync(f));
if (missing.length) {
  for (const [f, cmd] of missing) process.stderr.write(`nsbox: pack: ${path.relative(root, f)} is missing: run \`${cmd}\` (or \`npm run build\`)\n`);
  process.exit(1);
}
const tmp = `${staged}.${process.pid}.tmp`;
fs.copyFileSync(need[0][0], tmp);
fs.chmodSync(tmp, 0o755);
fs.renameSync(tmp, staged);
process.stderr.write(`nsbox: pack: ${path.relative(root, staged)} staged from target/release/nsbox-runtime\n`);
