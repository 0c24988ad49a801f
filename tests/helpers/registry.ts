/**
 * A real registry for the images tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 at
 * a free port, storage and config in a temp dir of its own, stopped by PID. Three ways in:
 *   - 'none': anonymous pull and push;
 *   - 'htpasswd': basic auth (bcrypt file from `htpasswd -B`, apache2-utils);
 *   - 'token': bearer tokens from a token server this helper runs in the test process (RS256 JWTs
 *     signed with a throwaway key; the registry trusts the self-signed certificate made by openssl,
 *     found through the token's `x5c` header). Anonymous callers get pull, the user also push;
 *     nobody gets anything on repositories under `nsbox/secret`.
 * Images are pushed with skopeo from the busybox OCI layout (helpers/oci-image.ts). With `tls`, the
 * registry serves HTTPS with the given certificate (and, with `clientCas`, asks for client certificates).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, get, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect, createServer as createNetServer } from 'node:net';
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const USER = 'nsbox';
export const PASSWORD = 'correct horse battery';

export interface Registry {
  /** `127.0.0.1:PORT`. */
  host: string;
  dir: string;
  /** The registry's blob storage (`…/docker/registry/v2/blobs/sha256/XX/HEX/data`). */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** The token server: GET /token?service&scope… → {token}; wrong basic credentials → 401. */
function startTokenServer(keyPem: string, certPem: string, service: string, issuer: string): Promise<{ server: Server; port: number }> {
  const key = createPrivateKey(keyPem);
  const der = new X509Certificate(certPem).raw.toString('base64');
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    let user = '';
    if (auth?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (u !== USER || p.join(':') !== PASSWORD) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      user = u;
    }
    const access = url.searchParams.getAll('scope').flatMap((s) => {
      const [type, name, actions] = [s.slice(0, s.indexOf(':')), s.slice(s.indexOf(':') + 1, s.lastIndexOf(':')), s.slice(s.lastIndexOf(':') + 1)];
      // Repositories under nsbox/secret are nobody's: a push mounting from one is refused that scope.
      const granted = name.startsWith('nsbox/secret') ? [] : actions.split(',').filter((a) => a === 'pull' || (user && (a === 'push' || a === '*')));
      return type === 'repository' ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: user, aud: service, exp: now + 600, nbf: now - 60, iat: now, jti: `${now}-${Math.random()}`, access }));
    const sig = b64url(sign('sha256', Buffer.from(`${header}.${claims}`), key));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${sig}`, expires_in: 600 }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

function ping(host: string, tls = false): Promise<number> {
  return new Promise((resolve) => {
    const done = (res: import('node:http').IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    };
    // Only "is it up": the tests check the certificate through nsbox itself. A registry asking for
    // client certificates fails this handshake; any TLS answer then counts as up.
    const req = tls ? httpsGet(`https://${host}/v2/`, { rejectUnauthorized: false }, done) : get(`http://${host}/v2/`, done);
    req.on('error', (e: NodeJS.ErrnoException) => resolve(tls && e.code !== 'ECONNREFUSED' ? 200 : 0));
    req.setTimeout(1000, () => req.destroy());
  });
}

export interface RegistryTls {
  certificate: string;
  key: string;
  /** CA files the registry checks client certificates against (then it requires one). */
  clientCas?: string[];
}

export async function startRegistry(auth: 'none' | 'htpasswd' | 'token' = 'none', o: { tls?: RegistryTls } = {}): Promise<Registry> {
  const dir = mkdtempSync(path.join(tmpdir(), `nsbox-registry-${auth}-`));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let token: Server | undefined;
  let authYaml = '';
  if (auth === 'htpasswd') {
    const file = path.join(dir, 'htpasswd');
    writeFileSync(file, execFileSync('htpasswd', ['-Bbn', USER, PASSWORD]));
    authYaml = `auth:\n  htpasswd:\n    realm: nsbox-test\n    path: ${file}\n`;
  } else if (auth === 'token') {
    const keyFile = path.join(dir, 'token.key');
    const certFile = path.join(dir, 'token.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=nsbox-test-token', '-days', '2'], { stdio: 'ignore' });
    const t = await startTokenServer(readFileSync(keyFile, 'utf8'), readFileSync(certFile, 'utf8'), 'nsbox-test-registry', 'nsbox-test-issuer');
    token = t.server;
    authYaml = `auth:\n  token:\n    realm: http://127.0.0.1:${t.port}/token\n    service: nsbox-test-registry\n    issuer: nsbox-test-issuer\n    rootcertbundle: ${certFile}\n`;
  }
  const storage = path.join(dir, 'storage');
  mkdirSync(storage);
  const tlsYaml = o.tls
    ? `  tls:\n    certificate: ${o.tls.certificate}\n    key: ${o.tls.key}\n${o.tls.clientCas ? `    clientcas:\n${o.tls.clientCas.map((c) => `      - ${c}\n`).join('')}` : ''}`
    : '';
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n  secret: nsbox-test-${port}\n${tlsYaml}${authYaml}`,
  );
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    const failures: string[] = [];
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    if (token) await new Promise<void>((resolve) => token!.close(() => resolve()));
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      failures.push(String(e));
    }
    if (failures.length) throw new Error(`stopping the registry: ${failures.join('; ')}`);
  };
  for (let i = 0; ; i++) {
    const status = await ping(host, !!o.tls);
    if (status === 200 || status === 401) break;
    if (child.exitCode !== null || i > 100) {
      await stop();
      throw new Error(`docker-registry did not start on ${host}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    dir,
    blobPath: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return path.join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    stop,
  };
}

/**
 * `skopeo copy [--all] oci:LAYOUT docker://HOST/REPO` (plain HTTP, or unverified HTTPS); `creds` as `user:pass`. Async:
 * the token server answering skopeo lives in this process's event loop.
 */
export function skopeoPush(layout: string, dest: string, o: { creds?: string; all?: boolean; zstd?: boolean; v2s2?: boolean; certDir?: string } = {}): Promise<void> {
  const args = ['copy', '-q', '--dest-tls-verify=false', ...(o.all ? ['--all'] : []), ...(o.creds ? ['--dest-creds', o.creds] : [])];
  // docker's certs.d layout (client.cert/client.key), for a registry asking for client certificates.
  if (o.certDir) args.push('--dest-cert-dir', o.certDir);
  if (o.zstd) args.push('--dest-compress', '--dest-compress-format', 'zstd');
  // Docker's v2 schema 2 manifests (and manifest lists with --all) instead of OCI's.
  if (o.v2s2) args.push('--format', 'v2s2');
  return new Promise((resolve, reject) => {
    execFile('skopeo', [...args, `oci:${layout}`, `docker://${dest}`], (err, _out, stderr) => {
      if (err) reject(new Error(`skopeo copy to ${dest}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/**
 * Pushes a single-image OCI layout byte for byte over the distribution API (anonymous registries only):
 * for uncompressed layers, which skopeo always compresses on the way to a registry.
 */
export async function rawPush(layout: string, host: string, repo: string, tag: string): Promise<void> {
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const blob = (d: string) => readFileSync(path.join(layout, 'blobs', 'sha256', d.replace(/^sha256:/, '')));
  const manifestBytes = blob(index.manifests[0]!.digest);
  const manifest = JSON.parse(manifestBytes.toString()) as { mediaType: string; config: { digest: string }; layers: Array<{ digest: string }> };
  for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
    const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`POST upload ${repo}: HTTP ${start.status}`);
    const loc = new URL(start.headers.get('location')!, `http://${host}`);
    loc.searchParams.set('digest', d);
    const put = await fetch(loc, { method: 'PUT', body: blob(d), headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`PUT blob ${d}: HTTP ${put.status}`);
  }
  const put = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: manifestBytes, headers: { 'content-type': manifest.mediaType } });
  if (put.status !== 201) throw new Error(`PUT manifest ${repo}:${tag}: HTTP ${put.status} ${await put.text()}`);
}

export interface Proxy {
  /** `127.0.0.1:PORT`: use it in references instead of the registry's host. */
  host: string;
  /** `GET /v2/…` request lines seen, in order. */
  requests: string[];
  /** Resolves once the registry's answers reached `stallAfter` bytes and the proxy holds the rest. */
  stalled: Promise<void>;
  release(): void;
  stop(): Promise<void>;
}

/**
 * A TCP proxy in front of a registry that records request lines and, given `stallAfter`, holds
 * the registry's answers once that many bytes went through, until release(): a pull caught
 * mid-download, without timing.
 */
export function startProxy(target: string, o: { stallAfter?: number } = {}): Promise<Proxy> {
  const [thost, tport] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const requests: string[] = [];
  const held: Array<() => void> = [];
  let sent = 0;
  let released = o.stallAfter === undefined;
  let onStall: () => void = () => {};
  const stalled = new Promise<void>((resolve) => (onStall = resolve));
  const sockets = new Set<import('node:net').Socket>();
  const server = createNetServer((client) => {
    const upstream = connect(tport, thost);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (d: Buffer) => {
      for (const m of d.toString('latin1').matchAll(/^(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.1/gm)) requests.push(`${m[1]} ${m[2]}`);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (released || sent + d.length <= o.stallAfter!) {
        sent += d.length;
        client.write(d);
        return;
      }
      upstream.pause();
      onStall();
      held.push(() => {
        client.write(d);
        upstream.resume();
      });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        host: `127.0.0.1:${(server.address() as { port: number }).port}`,
        requests,
        stalled,
        release: () => {
          released = true;
          for (const h of held.splice(0)) h();
        },
        stop: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      }),
    ),
  );
}

/**
 * A temp dir for one test file, with this process's environment pointed at it: never the machine's
 * own registry config or credentials, and anything not on loopback goes to a dead proxy on
 * 127.0.0.1:9, so no test can reach the internet. `authFile` is where `nsbox login` writes.
 */
export function isolatedRegistryEnv(prefix: string, authFile?: string): { scratch: string; newRoot: () => string } {
  const scratch = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  process.env.NSBOX_REGISTRIES_CONFIG = path.join(scratch, 'no-registries.json');
  process.env.NSBOX_AUTH_FILE = authFile ?? path.join(scratch, 'auth.json');
  process.env.DOCKER_CONFIG = path.join(scratch, 'docker');
  process.env.NSBOX_CERTS_DIR = path.join(scratch, 'certs.d');
  process.env.HTTPS_PROXY = process.env.HTTP_PROXY = process.env.ALL_PROXY = 'http://127.0.0.1:9';
  process.env.NO_PROXY = '127.0.0.1,localhost';
  let roots = 0;
  return { scratch, newRoot: () => path.join(scratch, `root-${roots++}`) };
}
