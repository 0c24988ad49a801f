// The published shape: `npm pack`, installed offline into an empty directory, runs containers through
// `npx nsbox` and `import { run } from 'nsbox'` with nothing from this checkout (no target/, no
// node_modules, no dev dependencies). npm gets a private cache and config, so nothing global changes.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import test from 'ava';

import { REPO } from './helpers/cli.js';
import { needsRoot } from './helpers/privileged.js';

const run = promisify(execFile);
const bin = (name: string): string => path.join(path.dirname(process.execPath), name);

interface Installed { dir: string; app: string; env: NodeJS.ProcessEnv; files: string[]; size: number }

let installed: Promise<Installed> | undefined;

/** Packs this checkout once (the pack scripts by hand: `prepare` would rebuild under running tests). */
function install(): Promise<Installed> {
  installed ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nsbox-pack-'));
    const app = path.join(dir, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    // Only what npm needs: no npm_* variables from an `npm test` around us, a private cache and config.
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    Object.assign(env, { npm_config_cache: path.join(dir, 'cache'), npm_config_userconfig: path.join(dir, 'npmrc'), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });
    writeFileSync(path.join(dir, 'npmrc'), '');
    await run(process.execPath, [path.join(REPO, 'scripts/stage-native.mjs')], { cwd: REPO });
    let out: string;
    try {
      ({ stdout: out } = await run(bin('npm'), ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO, env, maxBuffer: 16 << 20 }));
    } finally {
      await run(process.execPath, [path.join(REPO, 'scripts/stage-native.mjs'), '--clean'], { cwd: REPO });
    }
    const [packed] = JSON.parse(out) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
    await run(bin('npm'), ['install', '--offline', path.join(dir, packed!.filename)], { cwd: app, env });
    return { dir, app, env, files: packed!.files.map((f) => f.path), size: packed!.size };
  })();
  return installed;
}

test.after.always(async () => {
  if (installed) rmSync((await installed).dir, { recursive: true, force: true });
});

test('the tarball carries the bundles, the library and both binaries for this platform, nothing else', async (t) => {
  const { files, size } = await install();
  for (const f of ['cli/dist/main.js', 'cli/dist/tui.mjs', 'cli/dist/package.json', 'ts/dist/index.js', 'ts/dist/index.d.ts', 'ts/native/nsbox.linux-x64-gnu.node', 'ts/native/nsbox-runtime.linux-x64-gnu', 'package.json', 'README.md']) {
    t.true(files.includes(f), `${f} is packed`);
  }
  t.deepEqual(files.filter((f) => /^(target|crates|tests|bench|node_modules|cli\/src|ts\/src)\/|\.map$|meta\.json$|tsbuildinfo/.test(f)), []);
  t.log(`${files.length} files, ${(size / 1024 / 1024).toFixed(1)} MiB packed`);
});

test('installed offline into an empty directory: npx nsbox runs a container', async (t) => {
  if (!needsRoot(t)) return;
  const { app, env } = await install();
  t.deepEqual(readdirSync(path.join(app, 'node_modules')).filter((d) => !d.startsWith('.')), ['nsbox'], 'no dependencies were installed');
  const { stdout } = await run(bin('npx'), ['--offline', 'nsbox', 'run', '--rm', '--hostname', 'packed', '--', '/bin/sh', '-c', 'hostname; echo $$'], { cwd: app, env });
  t.is(stdout, 'packed\n1\n');
  const v = await run(bin('npx'), ['--offline', 'nsbox', '--version'], { cwd: app, env });
  t.regex(v.stdout, /^nsbox 0\.\d+\.\d+ \(core \d+\.\d+\.\d+\)\n$/);
});

test("installed offline: import { run } from 'nsbox' runs a container with the packaged runtime", async (t) => {
  if (!needsRoot(t)) return;
  const { app, env } = await install();
  writeFileSync(path.join(app, 'probe.mjs'), `
import { run, runtimePath } from 'nsbox';
const r = await run({ command: ['/bin/sh', '-c', 'echo $$'], stdout: 'pipe' });
console.log(JSON.stringify({ exitCode: r.exitCode, stdout: r.stdout, runtime: runtimePath() }));
`);
  const { stdout } = await run(process.execPath, ['probe.mjs'], { cwd: app, env: { ...env, NSBOX_RUNTIME: '' } });
  const r = JSON.parse(stdout) as { exitCode: number; stdout: string; runtime: string };
  t.is(r.exitCode, 0);
  t.is(r.stdout, '1\n');
  t.is(r.runtime, path.join(app, 'node_modules/nsbox/ts/native/nsbox-runtime.linux-x64-gnu'));
});

test('on a platform the package has no binaries for, the error names it and the way to build from source', async (t) => {
  const { dir, app, env } = await install();
  // A copy of the installed package whose binaries are for another platform.
  const other = path.join(dir, 'other');
  await run('cp', ['-a', app, other]);
  const native = path.join(other, 'node_modules/nsbox/ts/native');
  renameSync(path.join(native, 'nsbox.linux-x64-gnu.node'), path.join(native, 'nsbox.linux-riscv64-gnu.node'));
  renameSync(path.join(native, 'nsbox-runtime.linux-x64-gnu'), path.join(native, 'nsbox-runtime.linux-riscv64-gnu'));
  const r = await run(process.execPath, ['node_modules/nsbox/cli/dist/main.js', 'run', '--', '/bin/true'], { cwd: other, env: { ...env, NSBOX_RUNTIME: '' } }).catch((e: { code: number; stderr: string }) => e);
  t.is((r as { code: number }).code, 125);
  t.regex((r as { stderr: string }).stderr, /ERR_UNSUPPORTED_PLATFORM: this nsbox package has no prebuilt addon for linux-x64-gnu \(it carries linux-riscv64-gnu\)\. Build from source: .*npm install/);
});
