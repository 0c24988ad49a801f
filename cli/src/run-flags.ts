/**
 * `nsbox run` flags (docker/podman names) → the library's RunOptions. Pure: no I/O besides reading
 * the caller's environment for `-e NAME`, so it is unit-tested on its own.
 */
import { resourcesFromFlags } from './resource-flags.js';
import { InvalidSpecError, type IdMapping, type NamespaceKind, type PortMapping, type RunOptions, type Volume } from 'nsbox';

/** What commander hands the action for `run` (repeatable flags arrive as arrays). */
export interface RunFlags {
  rm?: boolean;
  name?: string;
  hostname?: string;
  domainname?: string;
  rootfs?: string;
  ns?: string[];
  uidmap?: string[];
  gidmap?: string[];
  mapRootUser?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  readOnly?: boolean;
  volume?: string[];
  init?: boolean;
  tty?: boolean;
  interactive?: boolean;
  boottimeOffset?: string;
  monotonicOffset?: string;
  network?: string;
  ip?: string;
  macAddress?: string;
  publish?: string[];
  dns?: string[];
  device?: string[];
  deviceCgroupRule?: string[];
  securityOpt?: string[];
  entrypoint?: string;
  pull?: string;
  platform?: string;
  publishAll?: boolean;
  /** The resource flags (resource-flags.ts), by commander's property names. */
  [resourceFlag: string]: unknown;
}

export function flagError(flag: string, message: string): InvalidSpecError {
  return new InvalidSpecError({ code: 'ERR_INVALID_SPEC', op: flag, path: null, errno: null, message });
}

/** commander's collector for repeatable flags. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * The rule for `run`'s operands: the first one before `--` is an image (`nsbox run alpine sh`);
 * operands only after `--` are a command with the host's view or `--rootfs` (`nsbox run -- /bin/sh`).
 * With `--rootfs`, or when the first is an absolute path (no image reference starts with `/`),
 * there is no image either. `argv`: the raw command line, to see where `--` was (commander drops it).
 */
export function imageAndCommand(operands: string[], flags: Pick<RunFlags, 'rootfs'>, argv: string[] = process.argv.slice(2)): { image?: string; command: string[] } {
  const dd = argv.indexOf('--');
  const afterDashes = dd >= 0 ? argv.slice(dd + 1) : null;
  const allAfter = afterDashes !== null && afterDashes.length === operands.length && afterDashes.every((a, i) => a === operands[i]);
  if (allAfter || flags.rootfs !== undefined || operands.length === 0 || operands[0]!.startsWith('/')) return { command: operands };
  const [image, ...rest] = operands;
  return { image: image!, command: rest[0] === '--' ? rest.slice(1) : rest };
}

/** The CLI's stdio is the container's: nothing is copied through Node. */
export function runOptionsFromFlags(flags: RunFlags, operands: string[], env: NodeJS.ProcessEnv = process.env, argv?: string[]): RunOptions {
  const { image, command } = imageAndCommand(operands, flags, argv);
  const o: RunOptions = { command, stdin: flags.interactive ? 'inherit' : 'ignore', stdout: 'inherit', stderr: 'inherit' };
  if (image !== undefined) o.image = image;
  if (flags.entrypoint !== undefined) o.entrypoint = flags.entrypoint;
  if (flags.publishAll) o.publishAll = true;
  if (flags.pull !== undefined) {
    if (!['always', 'missing', 'never'].includes(flags.pull)) throw flagError('--pull', `${JSON.stringify(flags.pull)}: always, missing or never`);
    if (image === undefined) throw flagError('--pull', 'applies to an image: name one before --');
    o.pull = flags.pull as RunOptions['pull'];
  }
  if (flags.platform !== undefined) {
    if (image === undefined) throw flagError('--platform', 'applies to an image: name one before --');
    o.platform = flags.platform;
  }
  if (flags.name !== undefined) o.name = flags.name;
  if (flags.hostname !== undefined) o.hostname = flags.hostname;
  if (flags.domainname !== undefined) o.domainname = flags.domainname;
  if (flags.rootfs !== undefined) o.rootfs = flags.rootfs;
  if (flags.ns !== undefined) o.namespaces = namespaceFlag(flags.ns);
  if (flags.uidmap) o.uidMap = flags.uidmap.map((m) => idMapping('--uidmap', m));
  if (flags.gidmap) o.gidMap = flags.gidmap.map((m) => idMapping('--gidmap', m));
  if (flags.mapRootUser) o.mapRootUser = true;
  if (flags.env) o.env = envFlag(flags.env, env);
  if (flags.workdir !== undefined) o.cwd = flags.workdir;
  if (flags.user !== undefined) o.user = flags.user;
  if (flags.capAdd) o.capAdd = flags.capAdd;
  if (flags.capDrop) o.capDrop = flags.capDrop;
  if (flags.privileged) o.privileged = true;
  if (flags.readOnly) o.readOnly = true;
  if (flags.volume) o.volumes = flags.volume.map(volume);
  if (flags.init) o.init = true;
  if (flags.tty) o.tty = true;
  if (flags.interactive) o.interactive = true;
  if (flags.boottimeOffset !== undefined) o.boottimeOffset = seconds('--boottime-offset', flags.boottimeOffset);
  if (flags.monotonicOffset !== undefined) o.monotonicOffset = seconds('--monotonic-offset', flags.monotonicOffset);
  if (flags.network !== undefined) Object.assign(o, networkFlag(flags.network));
  if (flags.ip !== undefined) o.ip = flags.ip;
  if (flags.macAddress !== undefined) o.mac = flags.macAddress;
  if (flags.publish) o.ports = flags.publish.map(publish);
  if (flags.dns) o.dns = flags.dns;
  if (flags.device) o.devices = flags.device;
  if (flags.deviceCgroupRule) o.deviceCgroupRules = flags.deviceCgroupRule;
  if (flags.securityOpt) Object.assign(o, securityOpts(flags.securityOpt));
  const resources = resourcesFromFlags(flags);
  if (resources) o.resources = resources;
  // Without a tty, a session of its own keeps the terminal's ^C from reaching the runtime as well as
  // us; we forward it once. With -t the runtime must stay in the foreground group for SIGWINCH.
  o.newSession = !flags.tty;
  return o;
}

/**
 * docker's `--security-opt`: `seccomp=unconfined|default|PATH` and `no-new-privileges[=true|false]`
 * (also with `:` as docker accepts). Labels and AppArmor are refused: nsbox applies neither, and an
 * option that would be ignored is an error, never a silent no-op.
 */
export function securityOpts(values: string[]): Pick<RunOptions, 'seccomp' | 'noNewPrivileges'> {
  const out: Pick<RunOptions, 'seccomp' | 'noNewPrivileges'> = {};
  for (const v of values) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(v);
    const key = m?.[1];
    const value = m?.[2];
    if (key === 'seccomp' && value) out.seccomp = value;
    else if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) out.noNewPrivileges = value !== 'false';
    else if (key === 'label' || key === 'apparmor' || key === 'systempaths') throw flagError('--security-opt', `${JSON.stringify(v)}: ${key} is not supported by nsbox`);
    else throw flagError('--security-opt', `invalid --security-opt: ${JSON.stringify(v)}`);
  }
  return out;
}

/** `--ns pid,uts --ns user` or `--ns all`; names are checked by the library (field `namespaces`). */
function namespaceFlag(values: string[]): RunOptions['namespaces'] {
  const names = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (names.includes('all')) return 'all';
  return names as NamespaceKind[];
}

/** `IN:OUT:LEN`, the kernel's `inside outside length` order. */
export function idMapping(flag: string, text: string): IdMapping {
  const parts = text.split(':');
  const nums = parts.map((p) => (/^\d+$/.test(p.trim()) ? Number(p) : NaN));
  if (nums.length !== 3 || nums.some((n) => !Number.isSafeInteger(n))) {
    throw flagError(flag, `${JSON.stringify(text)} is not INSIDE:OUTSIDE:LENGTH`);
  }
  const [inside, outside, length] = nums as [number, number, number];
  return { inside, outside, length };
}

/** `-e K=V`, or `-e K` to pass the caller's value through (skipped when unset, like docker). */
function envFlag(values: string[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v.includes('=')) out.push(v);
    else if (env[v] !== undefined) out.push(`${v}=${env[v]}`);
  }
  return out;
}

/** `-v HOST:CTR[:ro|rw]`. */
export function volume(text: string): Volume {
  const parts = text.split(':');
  const mode = parts.length === 3 ? parts[2] : undefined;
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw flagError('--volume', `${JSON.stringify(text)} is not HOST:CONTAINER[:ro|rw]`);
  }
  return { source: parts[0], target: parts[1], readOnly: mode === 'ro' };
}

/** Whole seconds, negative allowed. */
function seconds(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw flagError(flag, `${JSON.stringify(text)} is not a whole number of seconds`);
  return Number(text);
}

/** `-p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]`; an IPv6 host address goes in brackets. */
/**
 * `--network NAME`, or a rootless helper with its one option: `pasta:--map-gw` (pasta's own flag, as
 * podman passes it) or `slirp4netns:allow_host_loopback=true` (podman's name) let the container reach
 * the host's loopback through the gateway address. Anything else after the colon is refused.
 */
export function networkFlag(text: string): { network: string; hostLoopback?: boolean } {
  const colon = text.indexOf(':');
  if (colon < 0) return { network: text };
  const [name, opts] = [text.slice(0, colon), text.slice(colon + 1).split(',')];
  const known: Record<string, string> = { pasta: '--map-gw', slirp4netns: 'allow_host_loopback=true' };
  if (!(name in known)) throw flagError('--network', `${JSON.stringify(text)}: only pasta and slirp4netns take options`);
  for (const opt of opts) {
    if (opt !== known[name]) throw flagError('--network', `${name} option ${JSON.stringify(opt)} is not supported (only ${known[name]}, which makes the host's loopback reachable)`);
  }
  return { network: name, hostLoopback: true };
}

export function publish(text: string): PortMapping {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text);
  if (!m) throw flagError('--publish', `${JSON.stringify(text)} is not [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]`);
  const port: PortMapping = { hostPort: Number(m[2]), containerPort: Number(m[3]) };
  if (m[1]) port.hostIp = m[1].replace(/^\[|\]$/g, '');
  if (m[4]) port.protocol = m[4] as 'tcp' | 'udp';
  return port;
}
