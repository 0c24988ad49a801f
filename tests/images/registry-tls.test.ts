/**
 * docker's per-registry trust and insecure CIDRs, against real docker-registry processes on 127.0.0.1
 * (helpers/registry.ts): one plain, one serving HTTPS with a certificate for `registry.test` signed by
 * a CA this test makes with openssl, and asking for client certificates. The name `registry.test`
 * resolves to 127.0.0.1 only inside a private mount namespace whose /etc/hosts is bind-mounted from
 * the test's scratch dir (`unshare --mount`), so nothing of the machine's changes and no traffic leaves
 * loopback. A name is not a loopback literal, so nsbox treats it as a secure registry: HTTPS verified.
 *   - insecure-registries with a CIDR: `registry.test` (plain HTTP) is refused until 127.0.0.0/8 is
 *     listed, not with 10.0.0.0/8; a bad CIDR is refused naming the file and the entry;
 *   - certs.d: without the CA the pull fails (exit 125) naming the registry and "certificate"; with
 *     `certs.d/registry.test:PORT/ca.crt` + `client.cert`/`client.key` it pulls; with the CA but no
 *     client certificate the registry refuses the handshake;
 *   - the library's `certsDir` option: a loopback registry (unverified TLS, as docker) still gets the
 *     client certificate of its certs.d entry, and is refused without it.
 * CI budget: ~10 s (two registries, two skopeo pushes, nine pulls of a 2 MB image).
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { pull, RegistryError } from '../../ts/src/index.js';
import { CLI } from '../helpers/cli.js';
import { busyboxImage, file } from '../helpers/oci-image.js';
import { needsRoot } from '../helpers/privileged.js';
import { isolatedRegistryEnv, skopeoPush, startRegistry, type Registry } from '../helpers/registry.js';

const { scratch, newRoot } = isolatedRegistryEnv('nsbox-registry-tls-test');
const NAME = 'registry.test';
const image = busyboxImage({ tag: 'tls', layers: [[file('etc/motd', 'over tls\n')]] });
const pki = path.join(scratch, 'pki');
const hosts = path.join(scratch, 'hosts');
let plain: Registry;
let secure: Registry;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for registry.test (and 127.0.0.1, for skopeo), a client certificate. */
function makePki(): void {
  mkdirSync(pki, { recursive: true });
  const f = (n: string) => path.join(pki, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=nsbox-test-ca', '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  for (const [who, ext] of [
    ['server', `subjectAltName=DNS:${NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`],
    ['client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n'],
  ] as const) {
    writeFileSync(f(`${who}.ext`), ext);
    openssl('req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=nsbox-test-${who}`);
    openssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-set_serial', who === 'server' ? '2' : '3',
      '-days', '2', '-out', f(`${who}.crt`), '-extfile', f(`${who}.ext`));
  }
  // skopeo reads docker's layout too: the client pair as client.cert/client.key.
  mkdirSync(f('skopeo'));
  cpSync(f('client.crt'), f('skopeo/client.cert'));
  cpSync(f('client.key'), f('skopeo/client.key'));
}

test.before(async () => {
  makePki();
  writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${NAME}\n127.0.0.1 localhost.test\n`);
  plain = await startRegistry('none');
  secure = await startRegistry('none', { tls: { certificate: path.join(pki, 'server.crt'), key: path.join(pki, 'server.key'), clientCas: [path.join(pki, 'ca.crt')] } });
  await skopeoPush(image.layout, `${plain.host}/nsbox/busybox:tls`);
  await skopeoPush(image.layout, `${secure.host}/nsbox/busybox:tls`, { certDir: path.join(pki, 'skopeo') });
});

test.after.always(async () => {
  const failures: unknown[] = [];
  for (const r of [plain, secure]) await r?.stop().catch((e: unknown) => failures.push(e));
  rmSync(scratch, { recursive: true, force: true });
  if (failures.length) throw new Error(failures.map(String).join('; '));
});

const port = (r: Registry) => r.host.slice(r.host.lastIndexOf(':') + 1);

/**
 * `nsbox pull REF` where registry.test is 127.0.0.1: a private mount namespace with our /etc/hosts.
 * The name joins NO_PROXY (every other name goes to the dead proxy isolatedRegistryEnv sets).
 */
function pullByName(ref: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = 'mount --bind "$1" /etc/hosts || exit 99; shift; exec "$@"';
  return new Promise((resolve) => {
    execFile('unshare', ['--mount', 'sh', '-c', script, 'sh', hosts, process.execPath, CLI, 'pull', ref], { env: { ...process.env, NO_PROXY: `${process.env.NO_PROXY},${NAME},localhost.test`, NSBOX_STORE: newRoot(), ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

function registriesConfig(name: string, content: unknown): string {
  const p = path.join(scratch, name);
  writeFileSync(p, JSON.stringify(content));
  return p;
}

test('insecure-registries: a CIDR the registry name resolves into allows plain HTTP, another does not', async (t) => {
  if (!needsRoot(t)) return;
  const ref = `${NAME}:${port(plain)}/nsbox/busybox:tls`;
  const none = await pullByName(ref, {});
  t.is(none.code, 125, none.stderr);
  t.true(none.stderr.includes(`${NAME}:${port(plain)}`), none.stderr);
  const other = await pullByName(ref, { NSBOX_REGISTRIES_CONFIG: registriesConfig('ten.json', { 'insecure-registries': ['10.0.0.0/8'] }) });
  t.is(other.code, 125, other.stderr);
  const cfg = registriesConfig('loop.json', { 'insecure-registries': ['10.0.0.0/8', '127.0.0.0/8'] });
  const ok = await pullByName(ref, { NSBOX_REGISTRIES_CONFIG: cfg });
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, new RegExp(`Digest: ${image.manifestDigest}`));
  const bad = await pullByName(ref, { NSBOX_REGISTRIES_CONFIG: registriesConfig('bad.json', { 'insecure-registries': ['127.0.0.0/33'] }) });
  t.is(bad.code, 125);
  t.regex(bad.stderr, /bad\.json: insecure-registries: "127\.0\.0\.0\/33": prefix length/);
});

test('certs.d: the registry CA and a client certificate let a pull over verified HTTPS through; without the CA it fails naming the certificate', async (t) => {
  if (!needsRoot(t)) return;
  const hostPort = `${NAME}:${port(secure)}`;
  const ref = `${hostPort}/nsbox/busybox:tls`;
  const certs = path.join(scratch, 'my-certs.d');
  const dir = path.join(certs, hostPort);
  mkdirSync(dir, { recursive: true });

  const untrusted = await pullByName(ref, { NSBOX_CERTS_DIR: certs });
  t.is(untrusted.code, 125, untrusted.stderr);
  t.log(untrusted.stderr.trim());
  t.is(untrusted.stderr.trim().split('\n').length, 1, 'one line');
  t.regex(untrusted.stderr, new RegExp(`ERR_REGISTRY_CERTIFICATE: ${ref.replace(/\./g, '\\.')}: registry ${hostPort.replace(/\./g, '\\.')}: TLS certificate not trusted: .*certificate`));
  t.true(untrusted.stderr.includes(`${dir}/ca.crt`), 'names where the CA goes');

  cpSync(path.join(pki, 'ca.crt'), path.join(dir, 'ca.crt'));
  const noClient = await pullByName(ref, { NSBOX_CERTS_DIR: certs });
  t.is(noClient.code, 125, 'the registry asks for a client certificate');
  t.log(noClient.stderr.trim());
  t.regex(noClient.stderr, /ERR_REGISTRY_CERTIFICATE: .*refused by the registry: .*client\.cert/);

  cpSync(path.join(pki, 'client.crt'), path.join(dir, 'client.cert'));
  cpSync(path.join(pki, 'client.key'), path.join(dir, 'client.key'));
  const ok = await pullByName(ref, { NSBOX_CERTS_DIR: certs });
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, new RegExp(`Digest: ${image.manifestDigest}`));
  // The CA is this registry's only: the same server under another name (another certs.d entry) is not trusted.
  const other = await pullByName(`localhost.test:${port(secure)}/nsbox/busybox:tls`, { NSBOX_CERTS_DIR: certs });
  t.is(other.code, 125);
  t.regex(other.stderr, /ERR_REGISTRY_CERTIFICATE: .*not trusted/);
});

test('the certsDir option: a loopback registry is not verified, as in docker, but gets its client certificate', async (t) => {
  if (!needsRoot(t)) return;
  const certs = path.join(scratch, 'lib-certs.d');
  const dir = path.join(certs, secure.host);
  mkdirSync(dir, { recursive: true });
  const ref = `${secure.host}/nsbox/busybox:tls`;
  const refused = await t.throwsAsync(pull(ref, { store: newRoot(), certsDir: certs }));
  t.is((refused as RegistryError).code, 'ERR_REGISTRY_CERTIFICATE', refused!.message);
  t.regex(refused!.message, /refused by the registry: .*client\.cert/);
  cpSync(path.join(pki, 'client.crt'), path.join(dir, 'client.cert'));
  cpSync(path.join(pki, 'client.key'), path.join(dir, 'client.key'));
  const r = await pull(ref, { store: newRoot(), certsDir: certs });
  t.is(r.digest, image.manifestDigest);
});
