/**
 * A container's security profile, for `inspect` and the TUI: what its config asked for (capabilities,
 * seccomp, no_new_privs, device rules, masked and read-only paths) beside what the kernel says its
 * first process really has now (/proc/PID/status), so a reader can check one against the other.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Which seccomp profile the config's filter came from (set by nsbox-core when it builds a config). */
export const ANNOTATION_SECCOMP_PROFILE = 'org.nsbox.seccomp.profile';

export interface DeviceRuleInfo { allow: boolean; type: string; major: number | null; minor: number | null; access: string }

export interface SecurityProfile {
  /** The bounding set, `CAP_*` names. */
  capabilities: string[];
  noNewPrivileges: boolean;
  seccomp: {
    /** 'filter' when the config has a linux.seccomp section, else 'unconfined'. */
    mode: 'filter' | 'unconfined';
    /** 'default', 'unconfined', a profile path, 'inline', or 'config' for a hand-written OCI config. */
    profile: string;
    defaultAction: string | null;
    rules: number;
    architectures: string[];
  };
  /** linux.resources.devices in order (the last matching rule wins), as `c 1:3 rwm`. */
  deviceRules: DeviceRuleInfo[];
  /** linux.devices: nodes created in the container's /dev. */
  devices: string[];
  maskedPaths: string[];
  readonlyPaths: string[];
  /** From /proc/PID/status while the first process runs: the kernel's own word. */
  live: { seccomp: 'disabled' | 'strict' | 'filter'; noNewPrivs: boolean; capEff: string; capBnd: string } | null;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

export function securityProfile(config: unknown, pid: number | null): SecurityProfile {
  const c = obj(config);
  const proc = obj(c.process);
  const linux = obj(c.linux);
  const seccomp = c.linux && 'seccomp' in linux ? obj(linux.seccomp) : null;
  const annotations = obj(c.annotations);
  const profile = typeof annotations[ANNOTATION_SECCOMP_PROFILE] === 'string' ? (annotations[ANNOTATION_SECCOMP_PROFILE] as string) : seccomp ? 'config' : 'unconfined';
  const rules = Array.isArray(obj(linux.resources).devices) ? (obj(linux.resources).devices as unknown[]) : [];
  return {
    capabilities: strings(obj(proc.capabilities).bounding),
    noNewPrivileges: proc.noNewPrivileges === true,
    seccomp: {
      mode: seccomp ? 'filter' : 'unconfined',
      profile,
      defaultAction: seccomp && typeof seccomp.defaultAction === 'string' ? seccomp.defaultAction : null,
      rules: seccomp && Array.isArray(seccomp.syscalls) ? seccomp.syscalls.length : 0,
      architectures: seccomp ? strings(seccomp.architectures) : [],
    },
    deviceRules: rules.map((r) => {
      const d = obj(r);
      const num = (v: unknown) => (typeof v === 'number' ? v : null);
      return { allow: d.allow === true, type: typeof d.type === 'string' ? d.type : 'a', major: num(d.major), minor: num(d.minor), access: typeof d.access === 'string' ? d.access : 'rwm' };
    }),
    devices: (Array.isArray(linux.devices) ? linux.devices : []).map((d) => String(obj(d).path)),
    maskedPaths: strings(linux.maskedPaths),
    readonlyPaths: strings(linux.readonlyPaths),
    live: pid === null ? null : liveStatus(pid),
  };
}

/** Reads the profile of a container under `root` from its config.json (readable by its owner only). */
export function readSecurityProfile(root: string, id: string, pid: number | null): SecurityProfile | null {
  try {
    return securityProfile(JSON.parse(readFileSync(path.join(root, id, 'config.json'), 'utf8')), pid);
  } catch {
    return null;
  }
}

export function formatDeviceRule(r: DeviceRuleInfo): string {
  const n = (v: number | null) => (v === null ? '*' : String(v));
  return `${r.allow ? 'allow' : 'deny'} ${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

function liveStatus(pid: number): SecurityProfile['live'] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(text)?.[1] ?? '';
  const mode = field('Seccomp');
  return {
    seccomp: mode === '2' ? 'filter' : mode === '1' ? 'strict' : 'disabled',
    noNewPrivs: field('NoNewPrivs') === '1',
    capEff: field('CapEff'),
    capBnd: field('CapBnd'),
  };
}
