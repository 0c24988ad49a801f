/**
 * Registries that want credentials (Debian's docker-registry on 127.0.0.1, helpers/registry.ts): basic
 * auth from an htpasswd file, and bearer tokens from a token server of the test's own (the
 * WWW-Authenticate challenge flow Docker Hub uses). login checks and stores credentials 0600, logout
 * forgets them, a docker credential helper is asked through its real protocol, wrong passwords and
 * anonymous pushes are refused naming the registry, push mounts what the registry has in another repository.
 * CI budget: ~15 s (two registries, two skopeo pushes).
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { login, logout, pull, push, RegistryError, tagImage } from '../../ts/src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsRoot } from '../helpers/privileged.js';
import { busyboxImage, file } from '../helpers/oci-image.js';
import { PASSWORD, skopeoPush, startRegistry, USER, type Registry, isolatedRegistryEnv } from '../helpers/registry.js';

const { scratch, newRoot } = isolatedRegistryEnv('nsbox-registry-auth-test');
const authFile = path.join(scratch, 'config', 'nsbox', 'auth.json');
process.env.NSBOX_AUTH_FILE = authFile;

const image = busyboxImage({ layers: [[file('etc/motd', 'auth\n')]] });
let basic: Registry;
let bearer: Registry;
const creds = `${USER}:${PASSWORD}`;

test.before(async () => {
  [basic, bearer] = await Promise.all([startRegistry('htpasswd'), startRegistry('token')]);
  await skopeoPush(image.layout, `${basic.host}/nsbox/busybox:latest`, { creds });
  await skopeoPush(image.layout, `${bearer.host}/nsbox/busybox:latest`, { creds });
});

test.after.always(async () => {
  const failures = (await Promise.allSettled([basic?.stop(), bearer?.stop()])).filter((r) => r.status === 'rejected');
  rmSync(scratch, { recursive: true, force: true });
  if (failures.length) throw new Error(`teardown: ${failures.map((f) => String((f as PromiseRejectedResult).reason)).join('; ')}`);
});

test.serial('basic auth: anonymous refused, wrong password refused, login 0600, pull, logout', async (t) => {
  if (!needsRoot(t)) return;
  const ref = `${basic.host}/nsbox/busybox:latest`;
  const anon = await t.throwsAsync(pull(ref, { store: newRoot() }));
  t.true(anon instanceof RegistryError);
  t.is((anon as RegistryError).code, 'ERR_REGISTRY_DENIED');
  t.true(anon!.message.includes(ref));

  const anonCli = await runCli(['pull', ref], { env: { ...process.env, NSBOX_STORE: newRoot() } });
  t.is(anonCli.code, 125, 'a registry that refuses: exit 125');
  t.true(anonCli.stderr.includes(ref), anonCli.stderr);

  const wrong = await runCli(['login', '-u', USER, '--password-stdin', basic.host], { input: 'not it\n' });
  t.is(wrong.code, 125);
  t.regex(wrong.stderr, new RegExp(`^nsbox: login: ERR_REGISTRY_UNAUTHORIZED: .*incorrect username or password for ${basic.host}`));
  t.false(existsSync(authFile), 'nothing stored for refused credentials');

  const ok = await runCli(['login', '-u', USER, '--password-stdin', basic.host], { input: `${PASSWORD}\n` });
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /^Login Succeeded/);
  t.is(statSync(authFile).mode & 0o777, 0o600);
  t.is(statSync(path.dirname(authFile)).mode & 0o777, 0o700);
  const stored = JSON.parse(readFileSync(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
  t.is(Buffer.from(stored.auths[basic.host]!.auth, 'base64').toString(), creds);

  const r = await pull(ref, { store: newRoot() });
  t.is(r.digest, image.manifestDigest);

  const out = await runCli(['logout', basic.host]);
  t.is(out.stdout, `Removing login credentials for ${basic.host}\n`);
  t.is((await runCli(['logout', basic.host])).stdout, `Not logged in to ${basic.host}\n`);
  const again = await t.throwsAsync(pull(ref, { store: newRoot() }));
  t.is((again as RegistryError).code, 'ERR_REGISTRY_DENIED');

  // Wrong credentials stored (a changed password): the pull is refused naming the reference, exit 125.
  writeFileSync(authFile, JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from(`${USER}:not-it`).toString('base64') } } }), { mode: 0o600 });
  try {
    const stale = await runCli(['pull', ref], { env: { ...process.env, NSBOX_STORE: newRoot() } });
    t.is(stale.code, 125, stale.stderr);
    t.regex(stale.stderr, new RegExp(`^nsbox: pull: ERR_REGISTRY_(UNAUTHORIZED|DENIED): .*${ref.replace(/\./g, '\\.')}`));
    t.is(stale.stderr.trim().split('\n').length, 1, 'one line');
  } finally {
    rmSync(authFile, { force: true });
  }
});

test.serial("docker's config.json: a credential helper is asked (its real protocol), auths are read", async (t) => {
  if (!needsRoot(t)) return;
  const bin = path.join(scratch, 'bin');
  mkdirSync(bin, { recursive: true });
  const asked = path.join(scratch, 'helper-asked');
  const helper = path.join(bin, 'docker-credential-nsboxtest');
  writeFileSync(
    helper,
    `#!/bin/sh\n[ "$1" = get ] || exit 2\ncat > ${asked}\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$(cat ${asked})"\n`,
  );
  chmodSync(helper, 0o755);
  const docker = path.join(scratch, 'docker');
  mkdirSync(docker, { recursive: true });
  writeFileSync(path.join(docker, 'config.json'), JSON.stringify({ auths: {}, credHelpers: { [basic.host]: 'nsboxtest' } }));
  try {
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, NSBOX_STORE: newRoot() };
    const r = await runCli(['pull', '-q', `${basic.host}/nsbox/busybox`], { env });
    t.is(r.code, 0, r.stderr);
    t.is(readFileSync(asked, 'utf8'), basic.host);
    // Without a helper, docker's plain `auths` entry (base64 user:password) is used.
    writeFileSync(path.join(docker, 'config.json'), JSON.stringify({ auths: { [`https://${basic.host}`]: { auth: Buffer.from(creds).toString('base64') } } }));
    const plain = await pull(`${basic.host}/nsbox/busybox`, { store: newRoot() });
    t.is(plain.digest, image.manifestDigest);
  } finally {
    rmSync(path.join(docker, 'config.json'));
  }
});

test.serial('bearer tokens: anonymous pull, wrong password refused, login, push mounting from the pulled repository', async (t) => {
  if (!needsRoot(t)) return;
  const ref = `${bearer.host}/nsbox/busybox:latest`;
  const root = newRoot();
  const r = await pull(ref, { store: root });
  t.is(r.digest, image.manifestDigest);

  const wrong = await t.throwsAsync(login(bearer.host, { username: USER, password: 'nope' }));
  t.is((wrong as RegistryError).code, 'ERR_REGISTRY_UNAUTHORIZED');
  t.regex(wrong!.message, /token server/);

  // The pulled image under a new name, in the same store (nsbox tag).
  const target = `${bearer.host}/nsbox/pushed:1`;
  t.is(await tagImage(r.reference, target, { store: root }), target);
  const denied = await t.throwsAsync(push(target, { store: root }));
  t.is((denied as RegistryError).code, 'ERR_REGISTRY_DENIED', 'anonymous tokens carry pull only');
  const refused = await runCli(['push', target], { env: { ...process.env, NSBOX_STORE: root } });
  t.is(refused.code, 125, 'a push the registry refuses: exit 125');
  t.regex(refused.stderr, new RegExp(`ERR_REGISTRY_DENIED: .*${target.replace(/\./g, '\\.')}`));

  const ok = await login(bearer.host, { username: USER, password: PASSWORD });
  t.is(ok.authFile, authFile);
  const env = { ...process.env, NSBOX_STORE: root };
  const cli = await runCli(['push', target], { env });
  t.is(cli.code, 0, cli.stderr);
  const lines = cli.stdout.trim().split('\n');
  t.is(lines[0], `The push refers to repository [${bearer.host}/nsbox/pushed]`);
  // Pulled from nsbox/busybox of this registry: every layer is mounted from there (the token now also
  // carries repository:nsbox/busybox:pull), nothing uploaded (uploads: registry-push.test.ts).
  t.is(lines.filter((l) => l.endsWith(': Mounted from nsbox/busybox')).length, image.layers.length, cli.stdout);
  t.is(lines.at(-1), `1: digest: ${image.manifestDigest} size: ${image.manifestSize}`);
  // A source the credentials may not pull from (the token server grants nothing on nsbox/secret): the
  // registry refuses the mount's scope, and the push uploads that layer instead of failing.
  const top = image.layers.at(-1)!.digest;
  appendFileSync(path.join(root, 'sources', top.slice(7)), `${bearer.host}/nsbox/secret\n`);
  const third = `${bearer.host}/nsbox/pushed3:1`;
  await tagImage(r.reference, third, { store: root });
  const up = await runCli(['push', third], { env });
  t.is(up.code, 0, up.stderr);
  t.true(up.stdout.includes(`${top.slice(7, 19)}: Pushed`), up.stdout);
  const again = await push(target, { store: root });
  t.is(again.digest, image.manifestDigest, 'a second push finds every blob there');
  const back = await pull(target, { store: newRoot() });
  t.is(back.digest, image.manifestDigest);
  await logout(bearer.host);
});
