/**
 * Validated options → the OCI runtime-spec config the runtime executes. The Rust core builds the
 * config (one implementation for the addon and the runtime); here we only translate to its option
 * JSON and apply what only the TS layer knows: networks and start hooks.
 */
import { invalidSpec } from './errors.js';
import { startHooks } from './hooks.js';
import { isNamedNetwork } from './network-options.js';
import { nativeBuildSpec } from './native.js';
import { validateOptions, type NamespaceKind, type RunOptions, type ValidatedOptions } from './options.js';

/** An OCI runtime-spec config.json object, loosely typed: we only read a few fields. */
export interface OciSpec {
  ociVersion: string;
  process?: { args?: string[]; terminal?: boolean; [k: string]: unknown };
  linux?: { namespaces?: Array<{ type: string; path?: string }>; [k: string]: unknown };
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

/** Tells the runtime to stop after `created` and wait for a `start` frame (docs/protocol.md). */
export const ANNOTATION_WAIT_START = 'org.nsbox.wait-start';

/** docker's namespaces as root (plus time with zero offsets), as in nsbox-core's ROOT_DEFAULT. */
const ROOT_DEFAULT: NamespaceKind[] = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'uts'];

export interface BuiltSpec {
  spec: OciSpec;
  /** Whether start hooks must run between `created` and `start`. */
  waitStart: boolean;
}

/** The OCI config nsbox would hand the runtime for these options (e.g. to write a bundle's config.json). */
export function ociConfig(options: RunOptions): OciSpec {
  return buildSpec(validateOptions(options)).spec;
}

/** `annotations`: nsbox's own for the runtime (an image's overlay root: ts/src/images/prepare.ts). */
export function buildSpec(o: ValidatedOptions, annotations: Record<string, string> = {}): BuiltSpec {
  const waitStart = isNamedNetwork(o.network);
  if (waitStart && startHooks().length === 0) {
    throw invalidSpec('network', `networking not available: cannot attach to network ${JSON.stringify(o.network)} (no network support is loaded)`);
  }
  const spec = JSON.parse(nativeBuildSpec(JSON.stringify(coreOptions(o)))) as OciSpec;
  if (waitStart) spec.annotations = { ...spec.annotations, [ANNOTATION_WAIT_START]: 'true' };
  if (Object.keys(annotations).length) spec.annotations = { ...spec.annotations, ...annotations };
  return { spec, waitStart };
}

/** The option JSON nsbox-core's `RunOptions` accepts (camelCase, unknown fields rejected). */
export function coreOptions(o: ValidatedOptions): Record<string, unknown> {
  const core: Record<string, unknown> = {
    command: o.command,
    rootfs: o.rootfs,
    namespaces: networkNamespaces(o),
    hostname: o.hostname,
    domainname: o.domainname,
    uidMap: o.uidMap,
    gidMap: o.gidMap,
    mapRootUser: o.mapRootUser,
    env: o.env,
    cwd: o.cwd,
    user: o.user && { uid: o.user.uid, gid: o.user.gid ?? null, additionalGids: o.user.additionalGids ?? [] },
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    privileged: o.privileged,
    readOnly: o.readOnly,
    volumes: o.volumes?.map((v) => ({ source: v.source, target: v.target, readOnly: v.readOnly ?? false })),
    init: o.init,
    tty: o.tty,
    boottimeOffset: o.boottimeOffset,
    monotonicOffset: o.monotonicOffset,
    devices: o.devices,
    deviceCgroupRules: o.deviceCgroupRules,
    seccomp: o.seccomp,
    noNewPrivileges: o.noNewPrivileges,
    resources: o.resources,
  };
  for (const k of Object.keys(core)) if (core[k] === undefined) delete core[k];
  return core;
}

/** 'host' shares the host's net namespace; 'none' and named networks need one of their own. */
function networkNamespaces(o: ValidatedOptions): NamespaceKind[] | undefined {
  if (o.network === undefined) return o.namespaces;
  if (o.network === 'host') {
    if (o.namespaces?.includes('net')) throw invalidSpec('network', "'host' shares the host's network namespace: remove net from namespaces");
    return (o.namespaces ?? ROOT_DEFAULT).filter((k) => k !== 'net');
  }
  if (o.namespaces === undefined || o.namespaces.includes('net')) return o.namespaces;
  return [...o.namespaces, 'net'];
}
