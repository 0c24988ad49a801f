/**
 * Where this package's two native pieces are: the napi addon and the `nsbox-runtime` executable.
 *
 * An installed package (the `npm pack` tarball) carries both for one platform in `ts/native/`, named
 * by napi-rs's platform triple: `nsbox.linux-x64-gnu.node` and `nsbox-runtime.linux-x64-gnu`. A dev
 * checkout builds the addon there too and the runtime in `target/release/`, which wins when it
 * exists so that `cargo build` is all a developer needs. Every file that uses this module sits two
 * levels below the package root: `ts/src/*.ts`, `ts/dist/*.js` and the CLI bundle's `cli/dist/*.js`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { NotFoundError, NsboxError } from './errors.js';

const ROOT = new URL('../../', import.meta.url);

export function packageRoot(): string {
  return fileURLToPath(ROOT);
}

const fromRoot = (rel: string): string => fileURLToPath(new URL(rel, ROOT));

/** A dev checkout has the Rust workspace next to the package; an installed package does not. */
function isCheckout(): boolean {
  return existsSync(fromRoot('Cargo.toml'));
}

let triple: string | undefined;

/** napi-rs's name for this platform: `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, … */
export function platformTriple(): string {
  if (triple) return triple;
  if (process.platform !== 'linux') return (triple = `${process.platform}-${process.arch}`);
  const abi = process.arch === 'arm' ? 'gnueabihf' : 'gnu';
  return (triple = `linux-${process.arch}-${isMusl() ? 'musl' : abi}`);
}

function isMusl(): boolean {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return !report?.header?.glibcVersionRuntime;
  }
}

/** The triples this package carries binaries for (from the addon files in ts/native). */
export function packagedTriples(): string[] {
  try {
    return readdirSync(fromRoot('ts/native'))
      .filter((f) => f.startsWith('nsbox.') && f.endsWith('.node'))
      .map((f) => f.slice('nsbox.'.length, -'.node'.length));
  } catch {
    return [];
  }
}

export function addonPath(): string {
  return fromRoot(`ts/native/nsbox.${platformTriple()}.node`);
}

/** `NSBOX_RUNTIME`, else a dev checkout's `target/release/nsbox-runtime`, else the packaged one. */
export function runtimePath(): string {
  const fromEnv = process.env.NSBOX_RUNTIME;
  if (fromEnv) return path.resolve(fromEnv);
  const built = fromRoot('target/release/nsbox-runtime');
  if (existsSync(built)) return built;
  const packaged = fromRoot(`ts/native/nsbox-runtime.${platformTriple()}`);
  return existsSync(packaged) || !isCheckout() ? packaged : built;
}

/** The package has no binaries for this platform (or was packed without them). */
export class UnsupportedPlatformError extends NsboxError {}

const BUILD_FROM_SOURCE = 'Build from source: clone the nsbox repository and run `npm install` there (needs Node >= 20,'
  + " a Rust toolchain, pkg-config and libseccomp-dev), then install that checkout's `npm pack` tarball";

/**
 * The error for a missing native piece: in a checkout, ENOENT and the build command; in an installed
 * package, the platform, what the package carries, and how to build from source.
 */
export function missingBinary(what: 'addon' | 'runtime', file: string): NsboxError {
  const op = what === 'addon' ? 'load addon' : 'spawn nsbox-runtime';
  if (isCheckout()) {
    const message = what === 'addon'
      ? 'the addon is not built: run `npm run build` (or `npm run build:napi`)'
      : 'the runtime executable is missing: run `npm run build:rust`, or set NSBOX_RUNTIME to its path';
    return new NotFoundError({ code: 'ENOENT', op, path: file, errno: 2, message });
  }
  const carried = packagedTriples();
  return new UnsupportedPlatformError({
    code: 'ERR_UNSUPPORTED_PLATFORM', op, path: file, errno: null,
    message: `this nsbox package has no prebuilt ${what === 'addon' ? 'addon' : 'nsbox-runtime'} for ${platformTriple()}`
      + ` (it carries ${carried.length ? carried.join(', ') : 'none'}). ${BUILD_FROM_SOURCE}`
      + (what === 'runtime' ? '; or set NSBOX_RUNTIME to an nsbox-runtime built for this machine' : ''),
  });
}

let addon: unknown;

/** The addon, loaded once for the whole package (the library's facade and networks share it). */
export function loadAddon<T>(): T {
  if (addon) return addon as T;
  const file = addonPath();
  if (!existsSync(file)) throw missingBinary('addon', file);
  try {
    addon = createRequire(import.meta.url)(file);
  } catch (e) {
    // Present but not loadable here (an older glibc, say): the same way out as a missing one.
    if (isCheckout()) throw e;
    throw new UnsupportedPlatformError({ code: 'ERR_UNSUPPORTED_PLATFORM', op: 'load addon', path: file, errno: null, message: `${(e as Error).message}. ${BUILD_FROM_SOURCE}` });
  }
  // A rootless image store with subordinate ids has nsbox-runtime unpack and remove its files in a
  // user namespace (the addon never makes one): it is told which runtime once, here.
  (addon as { imageSetRuntime?: (p: string) => void }).imageSetRuntime?.(runtimePath());
  return addon as T;
}
