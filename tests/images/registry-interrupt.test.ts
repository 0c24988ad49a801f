/**
 * Pulls interrupted and pulls at once, against a real docker-registry on 127.0.0.1 behind a small
 * proxy of the test's own (helpers/registry.ts) that can hold a download mid-body and counts
 * requests: an AbortSignal and a SIGKILL mid-layer leave no tag and no blob a later pull would trust,
 * two pulls of the same image at once fetch each blob once, and on a terminal (tmux) the CLI draws one
 * progress line per layer, redrawn in place.
 * CI budget: ~10 s.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { pull } from '../../ts/src/index.js';
import { CLI, cliArgv } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { storeNames } from './helpers.js';
import { busyboxImage, file } from '../helpers/oci-image.js';
import { skopeoPush, startProxy, startRegistry, type Registry, isolatedRegistryEnv } from '../helpers/registry.js';
import { Terminal } from '../tui/e2e-terminal.js';

const { scratch, newRoot } = isolatedRegistryEnv('nsbox-registry-interrupt-test');

const image = busyboxImage({ layers: [[file('etc/motd', 'interrupt\n')]] });
/** The busybox layer (~1 MB): the one a 300 kB stall catches mid-body. */
const big = image.layers[0]!;
let reg: Registry;

test.before(async () => {
  reg = await startRegistry('none');
  await skopeoPush(image.layout, `${reg.host}/nsbox/busybox:latest`);
});

test.after.always(async () => {
  await reg?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function assertNothingTrusted(t: import('ava').ExecutionContext, root: string): void {
  t.false(existsSync(path.join(root, 'blobs', 'sha256', big.digest.slice(7))), 'the interrupted layer is not stored');
  t.false(existsSync(path.join(root, 'blobs', 'sha256', image.manifestDigest.slice(7))), 'no manifest');
  t.deepEqual(storeNames(root), [], 'no tag');
}

test('an AbortSignal mid-layer rejects with AbortError and keeps nothing', async (t) => {
  if (!needsRoot(t)) return;
  const proxy = await startProxy(reg.host, { stallAfter: 300_000 });
  try {
    const root = newRoot();
    const ac = new AbortController();
    const pending = pull(`${proxy.host}/nsbox/busybox`, { store: root, signal: ac.signal });
    await proxy.stalled;
    ac.abort(new Error('enough'));
    proxy.release();
    const err = await t.throwsAsync(pending);
    t.is(err!.name, 'AbortError');
    assertNothingTrusted(t, root);
    t.deepEqual(readdirSync(path.join(root, 'tmp')), [], 'the partial download was removed');
  } finally {
    await proxy.stop();
  }
});

test('a CLI pull killed mid-layer leaves nothing trusted, and the next pull completes', async (t) => {
  if (!needsRoot(t)) return;
  const proxy = await startProxy(reg.host, { stallAfter: 300_000 });
  const root = newRoot();
  try {
    const [bin, argv] = cliArgv(['pull', `${proxy.host}/nsbox/busybox`]);
    const child = spawn(bin, argv, { stdio: 'ignore', env: { ...process.env, NSBOX_STORE: root } });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)));
    await proxy.stalled;
    child.kill('SIGKILL');
    t.is(await exited, 'SIGKILL');
    proxy.release();
    assertNothingTrusted(t, root);
  } finally {
    await proxy.stop();
  }
  const r = await pull(`${reg.host}/nsbox/busybox`, { store: root });
  t.is(r.digest, image.manifestDigest);
  t.false(r.layers.find((l) => l.digest === big.digest)!.existed);
});

test('two pulls of the same image at once fetch each blob once', async (t) => {
  if (!needsRoot(t)) return;
  const proxy = await startProxy(reg.host);
  try {
    const root = newRoot();
    const ref = `${proxy.host}/nsbox/busybox`;
    const [a, b] = await Promise.all([pull(ref, { store: root }), pull(ref, { store: root })]);
    t.is(a.digest, b.digest);
    for (const digest of [image.configDigest, ...image.layers.map((l) => l.digest)]) {
      const gets = proxy.requests.filter((r) => r === `GET /v2/nsbox/busybox/blobs/${digest}`);
      t.is(gets.length, 1, `${digest}: ${proxy.requests.join(', ')}`);
    }
  } finally {
    await proxy.stop();
  }
});

test('two CLI pulls in two processes into one store: both succeed, each layer unpacked once', async (t) => {
  if (!needsRoot(t)) return;
  const root = newRoot();
  const ref = `${reg.host}/nsbox/busybox`;
  const once = () => new Promise<number | null>((resolve) => {
    const [bin, argv] = cliArgv(['pull', '-q', ref]);
    spawn(bin, argv, { stdio: 'ignore', env: { ...process.env, NSBOX_STORE: root } }).once('exit', resolve);
  });
  t.deepEqual(await Promise.all([once(), once()]), [0, 0]);
  t.is(readdirSync(path.join(root, 'layers')).length, image.layers.length);
  t.deepEqual(readdirSync(path.join(root, 'tmp')), [], 'no leftover of the pull that waited');
  t.deepEqual(storeNames(root), [`${ref}:latest`]);
});

test('on a terminal, pull draws one line per layer with a bar, redrawn in place', async (t) => {
  if (!needsRoot(t)) return;
  const proxy = await startProxy(reg.host, { stallAfter: 300_000 });
  const term = Terminal.open(`nsbox-pull-${process.pid}`, 'sh');
  try {
    const vars = ['NSBOX_REGISTRIES_CONFIG', 'NSBOX_AUTH_FILE', 'DOCKER_CONFIG', 'HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY'];
    const env = [...vars.map((v) => `${v}=${process.env[v]}`), `NSBOX_STORE=${newRoot()}`].join(' ');
    term.text(`clear; env ${env} ${process.execPath} ${CLI} pull ${proxy.host}/nsbox/busybox`);
    term.keys('Enter');
    await proxy.stalled;
    const mid = await term.waitFor((s) => /Downloading \[=*>? *\]/.test(s), 'a progress bar');
    t.log(mid.trim());
    t.regex(mid, new RegExp(`${big.digest.slice(7, 19)}: Downloading \\[=*>? *\\] +[0-9.]+kB/1\\.\\d+MB`));
    proxy.release();
    const done = await term.waitFor((s) => s.includes('Status: Downloaded newer image'), 'the status line');
    t.false(done.includes(image.configDigest.slice(7, 19)), 'the config blob is not a row');
    for (const l of image.layers) {
      t.is(done.split('\n').filter((line) => line.startsWith(`${l.digest.slice(7, 19)}:`)).length, 1, `one line for ${l.digest}:\n${done}`);
      t.true(done.includes(`${l.digest.slice(7, 19)}: Pull complete`), done);
    }
  } finally {
    term.close();
    await proxy.stop();
  }
});
