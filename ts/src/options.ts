/**
 * The public run options and their validation. Every rejection is an InvalidSpecError whose `field`
 * names the option at fault; the Rust core validates again (ids, capabilities, namespace rules), and
 * its errors name fields the same way.
 */
import path from 'node:path';

import { invalidSpec } from './errors.js';
import { validateNetworkOptions, type NetworkOptions } from './network-options.js';
import { validateResourceOptions, type ResourceOptions } from './resource-options.js';
import { SECURITY_KEYS, validateSecurityOptions, type SecurityOptions } from './security-options.js';

export type { NetworkOptions, PortMapping } from './network-options.js';
export type { SecurityOptions } from './security-options.js';
export type { ResourceOptions, SizeOption, Ulimit } from './resource-options.js';

export const NAMESPACE_KINDS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const;
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number];

/** Also accepted in `namespaces`: the OCI / unshare(1) spellings. */
const NAMESPACE_ALIASES: Record<string, NamespaceKind> = { mount: 'mnt', network: 'net' };

/** One line of `/proc/PID/uid_map`: ids `inside .. inside+length-1` are `outside ..` on the host. */
export interface IdMapping {
  inside: number;
  outside: number;
  length: number;
}

export interface Volume {
  /** Host path; relative paths resolve against process.cwd(). */
  source: string;
  /** Path inside the container. */
  target: string;
  readOnly?: boolean;
}

export interface UserSpec {
  uid: number;
  /** Defaults to `uid`, as `-u UID` does in docker. */
  gid?: number;
  additionalGids?: number[];
}

/**
 * What to connect a container's fd 0/1/2 to: the caller's own fd ('inherit'), a stream on the handle
 * ('pipe'), or /dev/null ('ignore').
 */
export type StdioOption = 'inherit' | 'pipe' | 'ignore';

export interface RunOptions extends NetworkOptions, SecurityOptions {
  /**
   * argv of the container's command; `command[0]` is looked up in the container's PATH. With an
   * `image` it may be left out (the image's Cmd) and replaces Cmd when given (docker's rule).
   */
  command?: string[];
  /** Root filesystem directory. Without it (and without `image`) the container sees the host's root read-only. */
  rootfs?: string;
  /** An image in the store (name, digest or id prefix): its layers become an overlay root of the container's own. */
  image?: string;
  /** Replaces the image's Entrypoint and clears its Cmd (`--entrypoint`; '' clears it). */
  entrypoint?: string | string[];
  /**
   * `--pull`, docker's policy: 'missing' (default) pulls an image the store lacks, 'always' pulls every
   * time, 'never' uses the store only (ImageNotFoundError naming the reference). `run()` and
   * `Runtime.run/create` pull; `spawn()` is synchronous and uses the store only ('always' is refused).
   */
  pull?: 'always' | 'missing' | 'never';
  /**
   * `--platform os/arch[/variant]`: the platform to pull from a multi-platform image (default this
   * machine's); with 'missing', a stored image of another os/arch is pulled again.
   */
  platform?: string;
  /** The image store's root (default NSBOX_STORE, /var/lib/nsbox as root). */
  store?: string;
  /** `-P`: publish each of the image's ExposedPorts on a free host port (needs a named network). */
  publishAll?: boolean;
  /** Which namespaces to create; the rest are shared with the host. Default: docker's, plus user when not root. */
  namespaces?: NamespaceKind[] | 'all';
  hostname?: string;
  domainname?: string;
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
  /** Map the caller to root inside (unshare -r); implied when not root and no map is given. */
  mapRootUser?: boolean;
  env?: Record<string, string> | string[];
  cwd?: string;
  /** `1000`, `'1000:1000'` or `{ uid, gid }`. */
  user?: number | string | UserSpec;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  readOnly?: boolean;
  volumes?: Volume[];
  /** Put nsbox's tiny init in as PID 1: forwards signals, reaps orphans. */
  init?: boolean;
  /** Allocate a pseudo-terminal for the command. */
  tty?: boolean;
  /** Keep stdin attached. In `run()` it makes `stdin` default to 'inherit' instead of 'ignore'. */
  interactive?: boolean;
  /** Seconds added to CLOCK_BOOTTIME inside (negative allowed). */
  boottimeOffset?: number;
  /** Seconds added to CLOCK_MONOTONIC inside (negative allowed). */
  monotonicOffset?: number;
  /** Defaults: `run()` ignores stdin and pipes stdout/stderr; `spawn()` pipes all three. */
  stdin?: StdioOption;
  stdout?: StdioOption;
  stderr?: StdioOption;
  /** Aborting kills the container (SIGKILL) and rejects with an AbortError, like child_process. */
  signal?: AbortSignal;
  /** A label for the container; the id is always generated. */
  name?: string;
  /**
   * Start the runtime in a session of its own (setsid), so signals from the caller's terminal (^C)
   * reach only the caller, which forwards them with `kill()` exactly once. The CLI does this unless
   * `tty` is set (then the runtime must stay in the terminal's foreground group to get SIGWINCH).
   */
  newSession?: boolean;
  /** Limits (docker's `--memory`, `--cpus`, `--pids-limit`, `--ulimit`, `--shm-size`, `--tmpfs`, …). */
  resources?: ResourceOptions;
}

/** Options after validation: paths absolute, user and env in the core's form. */
export interface ValidatedOptions extends RunOptions {
  namespaces?: NamespaceKind[];
  user?: UserSpec;
  env?: string[];
}

const KNOWN = new Set<string>([
  'command', 'rootfs', 'namespaces', 'hostname', 'domainname', 'uidMap', 'gidMap', 'mapRootUser', 'env', 'cwd',
  'user', 'capAdd', 'capDrop', 'privileged', 'readOnly', 'volumes', 'init', 'tty', 'interactive',
  'boottimeOffset', 'monotonicOffset', 'stdin', 'stdout', 'stderr', 'signal', 'name', 'newSession',
  'network', 'ip', 'mac', 'ports', 'dns', 'hostLoopback', 'resources', 'image', 'entrypoint', 'pull', 'platform', 'store', 'publishAll', ...SECURITY_KEYS,
]);

/** Checks every field's shape and returns a normalised copy; throws InvalidSpecError naming the field. */
export function validateOptions(input: RunOptions): ValidatedOptions {
  if (typeof input !== 'object' || input === null) throw invalidSpec('options', 'expected an object');
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) throw invalidSpec(key, `unknown option ${JSON.stringify(key)}`);
  }
  const o: ValidatedOptions = { ...input } as ValidatedOptions;
  if (input.image !== undefined) imageOptions(input);
  else {
    for (const f of ['entrypoint', 'pull', 'platform', 'store', 'publishAll'] as const) {
      if (input[f] !== undefined) throw invalidSpec(f, 'applies to an image: give one (image)');
    }
    if (!Array.isArray(input.command) || input.command.length === 0) throw invalidSpec('command', 'a command is required');
  }
  if (input.command !== undefined) {
    if (!Array.isArray(input.command)) throw invalidSpec('command', 'must be an array of strings');
    input.command.forEach((a, i) => text(`command[${i}]`, a));
    if (input.command.length > 0 && input.command[0] === '') throw invalidSpec('command[0]', 'must not be empty');
  }
  if (input.rootfs !== undefined) o.rootfs = path.resolve(text('rootfs', input.rootfs, true));
  if (input.namespaces !== undefined) o.namespaces = namespaceList(input.namespaces);
  for (const f of ['hostname', 'domainname', 'cwd', 'name'] as const) {
    if (input[f] !== undefined) text(f, input[f], true);
  }
  if (input.cwd !== undefined && !input.cwd.startsWith('/')) throw invalidSpec('cwd', `${JSON.stringify(input.cwd)} is not an absolute path`);
  for (const f of ['uidMap', 'gidMap'] as const) {
    if (input[f] !== undefined) idMaps(f, input[f]);
  }
  if (input.env !== undefined) o.env = envList(input.env);
  if (input.user !== undefined) o.user = userSpec(input.user);
  for (const f of ['capAdd', 'capDrop'] as const) {
    if (input[f] !== undefined) stringList(f, input[f]);
  }
  for (const f of ['mapRootUser', 'privileged', 'readOnly', 'init', 'tty', 'interactive', 'newSession', 'publishAll'] as const) {
    if (input[f] !== undefined && typeof input[f] !== 'boolean') throw invalidSpec(f, 'must be a boolean');
  }
  if (input.volumes !== undefined) o.volumes = volumes(input.volumes);
  for (const f of ['boottimeOffset', 'monotonicOffset'] as const) {
    const v = input[f];
    if (v !== undefined && !Number.isSafeInteger(v)) throw invalidSpec(f, 'must be a whole number of seconds');
  }
  for (const f of ['stdin', 'stdout', 'stderr'] as const) {
    const v = input[f];
    if (v !== undefined && v !== 'inherit' && v !== 'pipe' && v !== 'ignore') {
      throw invalidSpec(f, `must be 'inherit', 'pipe' or 'ignore', not ${JSON.stringify(v)}`);
    }
  }
  if (input.signal !== undefined && !(input.signal instanceof AbortSignal)) throw invalidSpec('signal', 'must be an AbortSignal');
  if (input.resources !== undefined) o.resources = validateResourceOptions(input.resources);
  validateNetworkOptions(input);
  Object.assign(o, validateSecurityOptions(input));
  return o;
}

/** `os/arch[/variant]`, as docker's --platform (`linux/arm64/v8`). */
export function checkPlatform(v: unknown): string {
  if (typeof v !== 'string' || !/^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_.]+)?$/.test(v)) {
    throw invalidSpec('platform', `${JSON.stringify(v)}: expected os/arch[/variant], like linux/arm64`);
  }
  return v;
}

function imageOptions(input: RunOptions): void {
  const image = text('image', input.image, true);
  if (/\s/.test(image)) throw invalidSpec('image', `${JSON.stringify(image)} is not an image reference`);
  if (input.rootfs !== undefined) throw invalidSpec('rootfs', 'give an image or a rootfs, not both');
  if (input.entrypoint !== undefined) {
    if (Array.isArray(input.entrypoint)) input.entrypoint.forEach((a, i) => text(`entrypoint[${i}]`, a));
    else text('entrypoint', input.entrypoint);
  }
  if (input.platform !== undefined) checkPlatform(input.platform);
  if (input.pull !== undefined && !['always', 'missing', 'never'].includes(input.pull)) {
    throw invalidSpec('pull', `must be 'always', 'missing' or 'never', not ${JSON.stringify(input.pull)}`);
  }
  if (input.store !== undefined) text('store', input.store, true);
}

function text(field: string, v: unknown, nonEmpty = false): string {
  if (typeof v !== 'string') throw invalidSpec(field, 'must be a string');
  if (v.includes('\0')) throw invalidSpec(field, 'must not contain NUL bytes');
  if (nonEmpty && v === '') throw invalidSpec(field, 'must not be empty');
  return v;
}

function stringList(field: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw invalidSpec(field, 'must be an array of strings');
  return v.map((s, i) => text(`${field}[${i}]`, s, true));
}

function id(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw invalidSpec(field, `must be an id between 0 and 4294967295, not ${JSON.stringify(v)}`);
  }
  return v;
}

function namespaceList(v: unknown): NamespaceKind[] {
  if (v === 'all') return [...NAMESPACE_KINDS];
  if (!Array.isArray(v)) throw invalidSpec('namespaces', `must be 'all' or an array of ${NAMESPACE_KINDS.join(', ')}`);
  const out = new Set<NamespaceKind>();
  for (const name of v) {
    const kind = typeof name === 'string' ? (NAMESPACE_ALIASES[name] ?? name) : name;
    if (!(NAMESPACE_KINDS as readonly unknown[]).includes(kind)) {
      throw invalidSpec('namespaces', `unknown namespace ${JSON.stringify(name)} (known: ${NAMESPACE_KINDS.join(', ')}, all)`);
    }
    out.add(kind as NamespaceKind);
  }
  return NAMESPACE_KINDS.filter((k) => out.has(k));
}

function idMaps(field: string, v: unknown): IdMapping[] {
  if (!Array.isArray(v)) throw invalidSpec(field, 'must be an array of { inside, outside, length }');
  return v.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null) throw invalidSpec(`${field}[${i}]`, 'must be { inside, outside, length }');
    const r = m as Record<string, unknown>;
    const out = { inside: id(`${field}[${i}].inside`, r.inside), outside: id(`${field}[${i}].outside`, r.outside), length: id(`${field}[${i}].length`, r.length) };
    if (out.length === 0) throw invalidSpec(`${field}[${i}].length`, 'must be at least 1');
    return out;
  });
}

function envList(v: unknown): string[] {
  if (Array.isArray(v)) {
    return v.map((e, i) => {
      const s = text(`env[${i}]`, e);
      if (s.indexOf('=') < 1) throw invalidSpec(`env[${i}]`, `${JSON.stringify(s)} is not KEY=VALUE`);
      return s;
    });
  }
  if (typeof v !== 'object' || v === null) throw invalidSpec('env', 'must be an object or an array of KEY=VALUE strings');
  return Object.entries(v).map(([k, val]) => {
    if (k === '' || k.includes('=')) throw invalidSpec(`env.${k}`, 'variable names must be non-empty and contain no "="');
    return `${k}=${text(`env.${k}`, val)}`;
  });
}

/** Accepts what `docker run -u` accepts numerically: `UID` or `UID:GID`, as a number, string or object. */
export function userSpec(v: unknown): UserSpec {
  if (typeof v === 'number') return { uid: id('user', v) };
  if (typeof v === 'string') {
    const m = /^(\d+)(?::(\d+))?$/.exec(v);
    if (!m) throw invalidSpec('user', `${JSON.stringify(v)} is not UID[:GID] (numeric ids only)`);
    const uid = id('user', Number(m[1]));
    return m[2] === undefined ? { uid } : { uid, gid: id('user', Number(m[2])) };
  }
  if (typeof v !== 'object' || v === null) throw invalidSpec('user', 'must be a uid, "UID[:GID]" or { uid, gid }');
  const r = v as Record<string, unknown>;
  const out: UserSpec = { uid: id('user.uid', r.uid) };
  if (r.gid !== undefined) out.gid = id('user.gid', r.gid);
  if (r.additionalGids !== undefined) {
    if (!Array.isArray(r.additionalGids)) throw invalidSpec('user.additionalGids', 'must be an array of gids');
    out.additionalGids = r.additionalGids.map((g, i) => id(`user.additionalGids[${i}]`, g));
  }
  return out;
}

function volumes(v: unknown): Volume[] {
  if (!Array.isArray(v)) throw invalidSpec('volumes', 'must be an array of { source, target, readOnly? }');
  return v.map((vol: unknown, i) => {
    if (typeof vol !== 'object' || vol === null) throw invalidSpec(`volumes[${i}]`, 'must be { source, target, readOnly? }');
    const r = vol as Record<string, unknown>;
    const target = text(`volumes[${i}].target`, r.target, true);
    if (!target.startsWith('/')) throw invalidSpec(`volumes[${i}].target`, `${JSON.stringify(target)} is not an absolute path`);
    if (r.readOnly !== undefined && typeof r.readOnly !== 'boolean') throw invalidSpec(`volumes[${i}].readOnly`, 'must be a boolean');
    return { source: path.resolve(text(`volumes[${i}].source`, r.source, true)), target, readOnly: r.readOnly === true };
  });
}
