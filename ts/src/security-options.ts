/**
 * The security options' types and shape checks. What they mean is decided in one place, the Rust
 * core (crates/nsbox-core): it parses device specifications (docker's `HOST[:CONTAINER][:rwm]`),
 * reads seccomp profiles (docker's JSON format) and builds the OCI config's `linux.seccomp`,
 * `linux.devices` and device rules. Here we only make sure what reaches it is well formed.
 */
import path from 'node:path';

import { invalidSpec } from './errors.js';

export interface SecurityOptions {
  /**
   * Host devices to give the container, docker's `--device`: `'/dev/loop0'`, `'/dev/loop0:/dev/xvdc'`,
   * `'/dev/loop0:r'` or `'/dev/loop0:/dev/xvdc:rw'` (access ⊆ rwm, default rwm).
   */
  devices?: string[];
  /** Extra device cgroup rules, docker's `--device-cgroup-rule`: `'c 1:3 rwm'`, `'b 7:* r'`. */
  deviceCgroupRules?: string[];
  /**
   * The seccomp filter: `'default'` (docker's default profile, the default), `'unconfined'` (none),
   * a path to a profile in docker's JSON format, or such a profile as an object.
   */
  seccomp?: string | Record<string, unknown>;
  /** no_new_privs for the container's processes; on unless `privileged` (stricter than docker). */
  noNewPrivileges?: boolean;
}

export const SECURITY_KEYS = ['devices', 'deviceCgroupRules', 'seccomp', 'noNewPrivileges'] as const;

export function validateSecurityOptions(input: SecurityOptions): SecurityOptions {
  const out: SecurityOptions = {};
  for (const f of ['devices', 'deviceCgroupRules'] as const) {
    const v = input[f];
    if (v === undefined) continue;
    if (!Array.isArray(v)) throw invalidSpec(f, 'must be an array of strings');
    out[f] = v.map((s, i) => {
      if (typeof s !== 'string' || s === '' || s.includes('\0')) throw invalidSpec(`${f}[${i}]`, 'must be a non-empty string');
      return s;
    });
  }
  const s = input.seccomp;
  if (s !== undefined) {
    if (typeof s === 'string') {
      if (s === '' || s.includes('\0')) throw invalidSpec('seccomp', "must be 'default', 'unconfined', a profile path or a profile object");
      out.seccomp = s === 'default' || s === 'unconfined' ? s : path.resolve(s);
    } else if (typeof s === 'object' && s !== null && !Array.isArray(s)) {
      out.seccomp = s;
    } else {
      throw invalidSpec('seccomp', "must be 'default', 'unconfined', a profile path or a profile object");
    }
  }
  if (input.noNewPrivileges !== undefined) {
    if (typeof input.noNewPrivileges !== 'boolean') throw invalidSpec('noNewPrivileges', 'must be a boolean');
    out.noNewPrivileges = input.noNewPrivileges;
  }
  return out;
}
