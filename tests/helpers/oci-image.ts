/**
 * The busybox test image, built offline from Debian's busybox-static, in the three forms engines and
 * registries read:
 *   - an OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`): `skopeo copy oci:DIR …`;
 *   - an OCI archive (that directory as a tar): `podman load -i`, `ctr images import`, `oci-archive:`;
 *   - a docker archive (`manifest.json` + `repositories` + config + `<diffid>/layer.tar`): what
 *     `docker save` writes and `podman load` / `ctr images import` read.
 * Everything is deterministic (fixed mtimes, sorted entries, canonical JSON, no clock), so the same
 * inputs give the same digests; results are cached by their inputs under a cache directory
 * (NSBOX_TEST_CACHE, else $TMPDIR/nsbox-test-cache) and shared between test processes.
 *
 * Layers are lists of tar entries; the helpers below make each of the cases the images tests need a
 * one-liner: whiteout('etc/motd'), opaque('data'), hardlink('bin/sh2', 'bin/busybox'),
 * file('bin/su-test', '…', { mode: 0o4755 }), symlink('lib', 'usr/lib'), and for attack tests
 * raw(file('../../escape', 'x')) (written as given).
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import path from 'node:path';
import { constants, gzipSync } from 'node:zlib';

import { canonicalEntries, FIXED_MTIME, tarArchive, type TarEntry } from './tar.js';

export type { TarEntry } from './tar.js';

/** Bump when the layout of what is built changes, so old cache entries are not reused. */
const FORMAT = 1;
const BUSYBOX = '/bin/busybox';
const CREATED = new Date(FIXED_MTIME * 1000).toISOString().replace('.000Z', 'Z');

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
} as const;

// ---- layer entries -------------------------------------------------------------------------------

type Opts = Partial<Pick<TarEntry, 'mode' | 'uid' | 'gid' | 'uname' | 'gname' | 'mtime' | 'xattrs'>>;

export const file = (p: string, content: string | Buffer = '', o: Opts = {}): TarEntry => ({ type: 'file', path: p, content, ...o });
export const dir = (p: string, o: Opts = {}): TarEntry => ({ type: 'dir', path: p, ...o });
export const symlink = (p: string, target: string, o: Opts = {}): TarEntry => ({ type: 'symlink', path: p, target, ...o });
/** `p` becomes another name of the file `target` (an archive path written earlier in the same layer). */
export const hardlink = (p: string, target: string, o: Opts = {}): TarEntry => ({ type: 'hardlink', path: p, target, ...o });
export const chardev = (p: string, major: number, minor: number, o: Opts = {}): TarEntry => ({ type: 'char', path: p, devmajor: major, devminor: minor, mode: 0o666, ...o });
/** A regular file with the setuid bit (mode 04755 unless given). */
export const setuid = (p: string, content: string | Buffer = '', o: Opts = {}): TarEntry => file(p, content, { mode: 0o4755, ...o });
/** Deletes `p` (from the layers below) in an upper layer: an empty `.wh.NAME` beside it. */
export const whiteout = (p: string): TarEntry => {
  const clean = p.replace(/^\/+|\/+$/g, '');
  return file(path.posix.join(path.posix.dirname(clean), `.wh.${path.posix.basename(clean)}`), '', { mode: 0o644 });
};
/** The entry with its path (and hard link target) written as given: `raw(file('../../x', 'pwned'))` (hostile layers). */
export const raw = (e: TarEntry): TarEntry => ({ ...e, raw: true });
/** Hides everything the layers below have in directory `d` (the directory itself stays). */
export const opaque = (d: string): TarEntry => file(path.posix.join(d.replace(/^\/+|\/+$/g, ''), '.wh..wh..opq'), '', { mode: 0o644 });

// ---- the busybox base layer -------------------------------------------------------------------------

function isStatic(f: string): boolean {
  return !readFileSync(f).includes('/lib64/ld-linux');
}

export function ensureBusyboxStatic(): void {
  if (existsSync(BUSYBOX) && isStatic(BUSYBOX)) return;
  execFileSync('apt-get', ['install', '-y', '-q', 'busybox-static'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!existsSync(BUSYBOX) || !isStatic(BUSYBOX)) throw new Error(`${BUSYBOX} is not a static busybox even after installing busybox-static`);
}

/** busybox + one symlink per applet in /bin, /usr/bin → ../bin, /sbin → bin, passwd/group, the usual empty dirs. */
export function busyboxLayer(): TarEntry[] {
  ensureBusyboxStatic();
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => a && a !== 'busybox');
  return [
    ...['dev', 'etc', 'home', 'proc', 'run', 'sys', 'usr', 'var'].map((d) => dir(d)),
    dir('root', { mode: 0o700 }),
    dir('tmp', { mode: 0o1777 }),
    file('bin/busybox', readFileSync(BUSYBOX), { mode: 0o755 }),
    ...applets.map((a) => symlink(`bin/${a}`, 'busybox')),
    symlink('usr/bin', '../bin'),
    symlink('sbin', 'bin'),
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'),
    file('etc/group', 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n'),
    file('etc/hostname', 'busybox\n'),
  ];
}

// ---- the image -----------------------------------------------------------------------------------

/** The parts of an OCI image config's `config` object the tests set (docker's names). */
export interface ImageRunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
}

export interface ImageOptions {
  /** Repository, default `localhost/nsbox-test/busybox`. */
  name?: string;
  /** Default `latest`. */
  tag?: string;
  /** Merged over the default config (Cmd ["sh"], a PATH, WorkingDir "/"). */
  config?: ImageRunConfig;
  /** Layers on top of the busybox base, each a list of entries. */
  layers?: TarEntry[][];
  /** Leave out the busybox base layer (then `layers` is the whole image). */
  noBase?: boolean;
  /** Layer compression in the OCI forms (the docker archive always holds plain tars, as `docker save` does). */
  compression?: 'gzip' | 'none';
  /** Where built images are cached; default NSBOX_TEST_CACHE or $TMPDIR/nsbox-test-cache. */
  cacheDir?: string;
  /** The config's and index's architecture (Go's names); default this machine's. Only the label changes: busybox stays the host's. */
  architecture?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export interface BuiltLayer {
  /** Digest and size of the blob as stored (gzip'd unless compression is 'none'). */
  digest: string;
  size: number;
  mediaType: string;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids). */
  diffId: string;
  /** Number of tar entries. */
  entries: number;
}

export interface OciImage {
  /** `name:tag`, as written into index.json (`org.opencontainers.image.ref.name`, `io.containerd.image.name`) and the docker archive. */
  ref: string;
  name: string;
  tag: string;
  /** The OCI image layout directory (read-only: it is shared through the cache). */
  layout: string;
  /** The layout as one tar (`oci-archive:PATH`). */
  ociArchive: string;
  /** `docker save`'s format (`docker-archive:PATH`). */
  dockerArchive: string;
  manifestDigest: string;
  manifestSize: number;
  configDigest: string;
  layers: BuiltLayer[];
  config: Record<string, unknown>;
  manifest: Record<string, unknown>;
  /** The docker archive's image id (sha256 of the config), as `podman images --no-trunc` shows it. */
  imageId: string;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

/** JSON with sorted keys and no whitespace: the same object always gives the same bytes. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function goArch(a: string = arch()): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[a] ?? a;
}

export function defaultCacheDir(): string {
  return process.env.NSBOX_TEST_CACHE ?? path.join(tmpdir(), 'nsbox-test-cache');
}

/** What the cache key covers: every input that changes the bytes. */
function cacheKey(layers: TarEntry[][], o: Required<Pick<ImageOptions, 'name' | 'tag' | 'compression' | 'architecture'>>, config: ImageRunConfig): string {
  const h = createHash('sha256');
  h.update(canonicalJson({ FORMAT, zlib: process.versions.zlib, arch: o.architecture, name: o.name, tag: o.tag, compression: o.compression, config }));
  for (const layer of layers) {
    h.update('\0layer\0');
    for (const e of layer) {
      const { content, xattrs, ...meta } = e;
      h.update(canonicalJson(meta));
      if (content !== undefined) h.update(createHash('sha256').update(content).digest());
      if (xattrs) h.update(canonicalJson(Object.fromEntries(Object.entries(xattrs).map(([k, v]) => [k, Buffer.from(v).toString('hex')]))));
    }
  }
  return h.digest('hex').slice(0, 32);
}

/**
 * Builds (or finds in the cache) the busybox image plus any extra layers. Synchronous: it takes
 * about half a second the first time (gzip of the 2 MB busybox), a few milliseconds after that.
 */
export function busyboxImage(options: ImageOptions = {}): OciImage {
  const name = options.name ?? 'localhost/nsbox-test/busybox';
  const tag = options.tag ?? 'latest';
  const compression = options.compression ?? 'gzip';
  const architecture = options.architecture ?? goArch();
  const config: ImageRunConfig = {
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    Cmd: ['sh'],
    WorkingDir: '/',
    ...options.config,
  };
  const layerEntries = [...(options.noBase ? [] : [busyboxLayer()]), ...(options.layers ?? [])];
  if (layerEntries.length === 0) throw new Error('busyboxImage: an image needs at least one layer');
  const cacheRoot = options.cacheDir ?? defaultCacheDir();
  const key = cacheKey(layerEntries, { name, tag, compression, architecture }, config);
  const dir = path.join(cacheRoot, `busybox-${key}`);
  const meta = path.join(dir, 'image.json');
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as OciImage;

  mkdirSync(cacheRoot, { recursive: true, mode: 0o755 });
  const tmp = path.join(cacheRoot, `.building-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const image = build(tmp, dir, { name, tag, compression, config, layerEntries, withBase: !options.noBase, architecture });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process built the same image meanwhile: its copy is identical, keep it.
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
    return image;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function build(
  tmp: string,
  finalDir: string,
  o: { name: string; tag: string; compression: 'gzip' | 'none'; config: ImageRunConfig; layerEntries: TarEntry[][]; withBase: boolean; architecture: string },
): OciImage {
  const layout = path.join(tmp, 'layout');
  const blobs = path.join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const writeBlob = (data: Buffer | string): { digest: string; size: number } => {
    const digest = sha256(data);
    writeFileSync(path.join(blobs, hex(digest)), data);
    return { digest, size: Buffer.byteLength(data) };
  };

  const tars = o.layerEntries.map((entries) => {
    // A hostile layer keeps its entries as given, in order (canonicalising would refuse them).
    const canon = entries.some((e) => e.raw) ? entries : canonicalEntries(entries);
    return { tar: tarArchive(canon), entries: canon.length };
  });
  const layers: BuiltLayer[] = tars.map(({ tar, entries }) => {
    const blob = o.compression === 'gzip' ? gzipSync(tar, { level: constants.Z_DEFAULT_COMPRESSION }) : tar;
    const { digest, size } = writeBlob(blob);
    return { digest, size, diffId: sha256(tar), entries, mediaType: o.compression === 'gzip' ? MEDIA.layerGzip : MEDIA.layerTar };
  });

  const architecture = o.architecture;
  const config = {
    created: CREATED,
    architecture,
    os: 'linux',
    config: o.config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: CREATED, created_by: i === 0 && o.withBase ? 'nsbox tests: busybox-static' : `nsbox tests: layer ${i}` })),
  };
  const configJson = canonicalJson(config);
  const cfg = writeBlob(configJson);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestJson = canonicalJson(manifest);
  const man = writeBlob(manifestJson);
  const ref = `${o.name}:${o.tag}`;
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.manifest,
        digest: man.digest,
        size: man.size,
        // podman writes the whole reference here (`podman save --format oci-archive`); containerd looks at its own key first.
        annotations: { 'org.opencontainers.image.ref.name': ref, 'io.containerd.image.name': ref },
        platform: { architecture, os: 'linux' },
      },
    ],
  };
  writeFileSync(path.join(layout, 'index.json'), canonicalJson(index));
  writeFileSync(path.join(layout, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));

  // The OCI archive: the layout tarred, in a fixed order.
  const layoutFiles: TarEntry[] = [
    file('oci-layout', readFileSync(path.join(layout, 'oci-layout'))),
    file('index.json', readFileSync(path.join(layout, 'index.json'))),
    dir('blobs'),
    dir('blobs/sha256'),
    ...[cfg.digest, man.digest, ...layers.map((l) => l.digest)].map((d) => file(`blobs/sha256/${hex(d)}`, readFileSync(path.join(blobs, hex(d))))),
  ];
  writeFileSync(path.join(tmp, 'oci-archive.tar'), tarArchive(canonicalEntries(layoutFiles)));

  // The docker archive (docker save): uncompressed layers, one directory per layer named by its diff id.
  const configName = `${hex(cfg.digest)}.json`;
  const layerNames = layers.map((l) => `${hex(l.diffId)}/layer.tar`);
  const dockerManifest = [{ Config: configName, RepoTags: [ref], Layers: layerNames }];
  const repositories = { [o.name]: { [o.tag]: hex(layers[layers.length - 1]!.diffId) } };
  const dockerFiles: TarEntry[] = [
    file('manifest.json', canonicalJson(dockerManifest)),
    file('repositories', canonicalJson(repositories)),
    file(configName, configJson),
    ...tars.flatMap(({ tar }, i) => [file(layerNames[i]!, tar), file(`${hex(layers[i]!.diffId)}/VERSION`, '1.0')]),
  ];
  writeFileSync(path.join(tmp, 'docker-archive.tar'), tarArchive(canonicalEntries(dockerFiles)));

  const image: OciImage = {
    ref,
    name: o.name,
    tag: o.tag,
    layout: path.join(finalDir, 'layout'),
    ociArchive: path.join(finalDir, 'oci-archive.tar'),
    dockerArchive: path.join(finalDir, 'docker-archive.tar'),
    manifestDigest: man.digest,
    manifestSize: man.size,
    configDigest: cfg.digest,
    layers,
    config,
    manifest,
    imageId: cfg.digest,
  };
  writeFileSync(path.join(tmp, 'image.json'), JSON.stringify(image, null, 2));
  return image;
}

/**
 * One OCI layout whose index lists several single-platform images (built by busyboxImage with
 * different `architecture`s): what `skopeo copy --all oci:DIR docker://…` pushes as a multi-platform
 * image. Written into `dir` (blobs are copied); returns the index's digest as a registry will serve it.
 */
export function multiPlatformLayout(dir: string, images: OciImage[], ref = 'localhost/nsbox-test/busybox:multi'): { layout: string; indexDigest: string } {
  const layout = path.join(dir, 'layout');
  const blobs = path.join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  for (const img of images) {
    for (const d of [img.manifestDigest, img.configDigest, ...img.layers.map((l) => l.digest)]) {
      const to = path.join(blobs, hex(d));
      if (!existsSync(to)) writeFileSync(to, readFileSync(path.join(img.layout, 'blobs', 'sha256', hex(d))));
    }
  }
  const inner = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: images.map((img) => ({
      mediaType: MEDIA.manifest,
      digest: img.manifestDigest,
      size: img.manifestSize,
      platform: { architecture: (img.config as { architecture: string }).architecture, os: 'linux' },
    })),
  };
  const innerJson = canonicalJson(inner);
  const indexDigest = sha256(innerJson);
  writeFileSync(path.join(blobs, hex(indexDigest)), innerJson);
  // The layout's own index.json points at the nested index, as skopeo and podman write multi-platform layouts.
  const top = { schemaVersion: 2, mediaType: MEDIA.index, manifests: [{ mediaType: MEDIA.index, digest: indexDigest, size: Buffer.byteLength(innerJson), annotations: { 'org.opencontainers.image.ref.name': ref } }] };
  writeFileSync(path.join(layout, 'index.json'), canonicalJson(top));
  writeFileSync(path.join(layout, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));
  return { layout, indexDigest };
}
