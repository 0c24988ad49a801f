// The image commands end to end: load, images, run IMAGE (and the `--` rule), ps's IMAGE column,
// inspect, tag, save, rmi, prune; bad input → one line naming the reference, exit 125 (rootless: rootless.test.ts).
// CI budget: ~15 s.
import { existsSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { cliArgv, runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { box, layeredImage } from './helpers.js';

test('load, images, run IMAGE, ps, inspect, tag, save, rmi, prune', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage();
  const cli = (args: string[]) => runCli(args, { env: b.env });
  const load = await cli(['load', '-i', img.ociArchive]);
  t.is(load.code, 0, load.stderr);
  t.is(load.stdout, `Loaded image: ${img.ref}\n`);
  const images = await cli(['images']);
  t.regex(images.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  t.regex(images.stdout, new RegExp(`localhost/nsbox-test/busybox\\s+layers\\s+${img.configDigest.slice(7, 19)}`));

  const r = await cli(['run', '--rm', img.ref, 'cat', '/etc/motd']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'hello\n');
  t.is((await cli(['run', '--rm', '-e', 'X=1', img.ref, 'sh', '-c', 'echo $X; exit 4'])).code, 4);
  const host = await cli(['run', '--rm', '--', '/bin/sh', '-c', 'test -e /etc/motd-from-image || echo host view']);
  t.is(host.stdout, 'host view\n', 'operands after -- are a host-view command');

  const d = await cli(['run', '-d', '--name', 'img-cli', img.ref, 'sleep', '600']);
  t.is(d.code, 0, d.stderr);
  const ps = await cli(['ps', '--format', '{{.Names}} {{.Image}}']);
  t.is(ps.stdout, `img-cli ${img.ref}\n`);
  t.regex((await cli(['ps'])).stdout, /CONTAINER ID\s+IMAGE\s+COMMAND/);
  const inspect = JSON.parse((await cli(['inspect', 'img-cli'])).stdout) as Array<{ image: { digest: string; id: string } }>;
  t.is(inspect[0]?.image.digest, img.manifestDigest);
  const busy = await cli(['rmi', img.ref]);
  t.is(busy.code, 125);
  t.regex(busy.stderr, /^nsbox: rmi\(localhost\/nsbox-test\/busybox:layers\): ERR_IMAGE_IN_USE: .*used by container/);
  t.is((await cli(['rm', '-f', 'img-cli'])).code, 0);

  t.is((await cli(['tag', img.ref, 'localhost/again:2'])).code, 0);
  const iinspect = JSON.parse((await cli(['image', 'inspect', 'localhost/again:2'])).stdout) as Array<{ names: string[] }>;
  t.deepEqual(iinspect[0]?.names.sort(), ['localhost/again:2', img.ref].sort());
  const out = path.join(b.store, 'saved.tar');
  t.is((await cli(['save', '-o', out, 'localhost/again:2'])).code, 0);
  const rmi = await cli(['rmi', img.ref, 'localhost/again:2']);
  t.is(rmi.stdout, `Untagged: ${img.ref}\nUntagged: localhost/again:2\nDeleted: ${img.manifestDigest}\n`);
  t.is((await cli(['image', 'prune'])).code, 0);
  t.deepEqual(b.ls('layers'), []);
  t.is((await cli(['load', '-i', out])).stdout, 'Loaded image: localhost/again:2\n');
});

test('bad input: one line naming the reference or file, exit 125', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const cli = (args: string[]) => runCli(args, { env: b.env });
  const missing = await cli(['run', '--rm', '--pull', 'never', 'localhost/nope:1', 'true']);
  t.is(missing.code, 125);
  t.regex(missing.stderr, /^nsbox: run\(localhost\/nope:1\): ERR_IMAGE_NOT_FOUND: .*nsbox pull localhost\/nope:1.*\n$/);
  // The default policy pulls a missing image: nothing listens on 127.0.0.1:1, so the pull fails by name.
  const pulled = await cli(['run', '--rm', '127.0.0.1:1/nope:1', 'true']);
  t.is(pulled.code, 125);
  t.is(pulled.stderr.split('\n')[0], "Unable to find image '127.0.0.1:1/nope:1' locally");
  t.regex(pulled.stderr.split('\n')[1]!, /^nsbox: pull: ERR_REGISTRY_UNREACHABLE: 127\.0\.0\.1:1\/nope:1: /);
  t.deepEqual([b.ls('blobs/sha256'), b.ls('tmp'), b.ls('containers')], [[], [], []]);
  t.is((await cli(['run', '--pull', 'sometimes', 'x'])).code, 125);
  const load = await cli(['load', '-i', '/nonexistent.tar']);
  t.is(load.code, 125);
  t.regex(load.stderr, /^nsbox: load\(\/nonexistent\.tar\): ENOENT/);
  t.regex((await cli(['load'])).stderr, /-i FILE/);
  t.is((await cli(['rmi', 'localhost/nope:1'])).code, 125);
  // Every image command: 125 and one line naming the reference (pull, push, login: registry*.test.ts).
  for (const args of [['tag', 'localhost/nope:1', 'localhost/other:1'], ['image', 'inspect', 'localhost/nope:1'], ['save', '-o', '/tmp/nsbox-nope.tar', 'localhost/nope:1'], ['image', 'rm', 'localhost/nope:1'], ['pull', '127.0.0.1:1/nope:1'], ['images', '--format', 'nope']]) {
    const r = await cli(args);
    t.is(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
    t.regex(r.stderr, args[0] === 'images' ? /--format/ : /nope:1/, args.join(' '));
  }
  t.false(existsSync('/tmp/nsbox-nope.tar'), 'save wrote nothing');
  t.is((await cli(['run', '--rm', '--rootfs', '/', 'no-such-command', 'x'])).code, 127, 'with --rootfs the operands are a command');
});

test('run -d --rm IMAGE: the monitor removes the writable layer with the container', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage();
  const cli = (args: string[]) => runCli(args, { env: b.env });
  t.is((await cli(['load', '-q', '-i', img.dockerArchive])).code, 0);
  const d = await cli(['run', '-d', '--rm', img.ref, 'sh', '-c', 'echo x > /f']);
  t.is(d.code, 0, d.stderr);
  for (let i = 0; i < 500 && b.ls('containers').length; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(b.ls('containers'), []);
  t.deepEqual(b.rt.list({ all: true }).map((s) => s.id), []);
});

test('a foreground run whose CLI is SIGKILLed: the runtime ends the container and removes its writable layer', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage();
  t.is((await runCli(['load', '-q', '-i', img.ociArchive], { env: b.env })).code, 0);
  const { spawn } = await import('node:child_process');
  const [file, argv] = cliArgv(['run', img.ref, 'sh', '-c', 'touch /started; exec sleep 600']);
  const child = spawn(file, argv, { env: b.env, stdio: 'ignore' });
  const started = () => b.ls('containers').some((id) => existsSync(path.join(b.store, 'containers', id, 'upper/started')));
  for (let i = 0; i < 500 && !started(); i++) await new Promise((r) => setTimeout(r, 10));
  t.true(started());
  child.kill('SIGKILL');
  for (let i = 0; i < 500 && b.ls('containers').length; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(b.ls('containers'), []);
});

test('completion: image operands complete from the store; images --format templates', async (t) => {
  if (!needsRoot(t)) return;
  const b = box();
  t.teardown(() => b.dispose());
  const img = layeredImage();
  t.is((await runCli(['load', '-q', '-i', img.ociArchive], { env: b.env })).code, 0);
  t.is((await runCli(['images', '--format', '{{.Repository}}\\t{{.Tag}} {{.ID}}'], { env: b.env })).stdout, `localhost/nsbox-test/busybox\tlayers ${img.configDigest.slice(7, 19)}\n`);
  const { mkdirSync, writeFileSync, chmodSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const bin = path.join(b.store, '..', 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'nsbox'), `#!/bin/sh\nexec ${process.execPath} ${cliArgv([])[1][0]} "$@"\n`);
  chmodSync(path.join(bin, 'nsbox'), 0o755);
  const script = 'source <(nsbox completion bash); COMP_WORDS=(nsbox rmi ""); COMP_CWORD=2; _nsbox; printf "%s\\n" "${COMPREPLY[@]}"';
  const out = execFileSync('bash', ['-c', script], { env: { ...b.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
  t.is(out, `${img.ref}\n`);
});
