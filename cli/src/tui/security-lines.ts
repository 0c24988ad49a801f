/** The Inspect tab's security summary: what the config asked for beside what /proc says is in force. */
import { formatDeviceRule, type SecurityProfile } from 'nsbox';

import type { Line } from './components/line-view.js';

export function securityLines(raw: unknown): Line[] {
  const s = (raw as { security?: SecurityProfile | null } | null)?.security;
  if (!s) return [];
  const caps = s.capabilities.map((c) => c.replace(/^CAP_/, '').toLowerCase());
  const live = s.live;
  const lines: Line[] = [
    { text: 'Security', color: 'cyan' },
    { text: `  capabilities   ${caps.length} ${caps.join(' ') || '(none)'}` },
    { text: `  seccomp        ${s.seccomp.mode} · profile ${s.seccomp.profile}${s.seccomp.defaultAction ? ` · default ${s.seccomp.defaultAction} · ${s.seccomp.rules} rules · ${s.seccomp.architectures.join(',')}` : ''}` },
    { text: `  no_new_privs   ${s.noNewPrivileges ? 'on' : 'off'}` },
    { text: `  devices        ${s.deviceRules.length ? s.deviceRules.map(formatDeviceRule).join(' · ') : 'no rules (all devices allowed)'}`, color: s.deviceRules.length ? undefined : 'yellow' },
  ];
  if (s.devices.length) lines.push({ text: `  device nodes   ${s.devices.join(' ')}` });
  lines.push({ text: `  masked         ${s.maskedPaths.join(' ') || '(none)'}` });
  lines.push({ text: `  read-only      ${s.readonlyPaths.join(' ') || '(none)'}` });
  if (live) {
    const ok = live.seccomp === (s.seccomp.mode === 'filter' ? 'filter' : 'disabled') && live.noNewPrivs === s.noNewPrivileges;
    lines.push({ text: `  live (/proc)   seccomp ${live.seccomp} · no_new_privs ${live.noNewPrivs ? 'on' : 'off'} · CapEff ${live.capEff} · CapBnd ${live.capBnd}`, color: ok ? 'green' : 'red' });
  }
  lines.push({ text: '' });
  return lines;
}
