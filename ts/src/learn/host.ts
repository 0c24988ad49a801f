/**
 * What the steps read on the host side and decide before starting anything: the calling user, user
 * and time namespace support. Read from /proc and /etc only; nothing here changes the host.
 */
import { existsSync, readFileSync } from 'node:fs';

import { subordinateRanges } from '../host-info.js';
import { checkTun, chooseHelper } from '../network/rootless/helper.js';
import { isRootless } from '../network/rootless/state-dir.js';
import type { Support, Text } from './types.js';

export const isRoot = (): boolean => process.getuid?.() === 0;

export function t(en: string, zh: string): Text {
  return { en, zh };
}

export const OK: Support = { ok: true };

function readNumber(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

/** Whether this user can get a user namespace: root needs none for most steps; others always do. */
export function userNamespaces(): Support {
  if (!existsSync('/proc/self/ns/user')) return { ok: false, reason: t('this kernel has no user namespaces', '此内核不支持 user namespace') };
  if (isRoot()) return OK;
  const max = readNumber('/proc/sys/user/max_user_namespaces');
  if (max === 0) return { ok: false, reason: t('user.max_user_namespaces is 0: no user namespaces for ordinary users', 'user.max_user_namespaces 为 0：普通用户无法创建 user namespace') };
  if (readNumber('/proc/sys/kernel/unprivileged_userns_clone') === 0) {
    return { ok: false, reason: t('kernel.unprivileged_userns_clone is 0: ordinary users get no user namespace', 'kernel.unprivileged_userns_clone 为 0：普通用户无法创建 user namespace') };
  }
  if (readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === 1) {
    return { ok: false, reason: t('AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)', 'AppArmor 限制了非特权 user namespace（kernel.apparmor_restrict_unprivileged_userns = 1）') };
  }
  return OK;
}

export function timeNamespace(): Support {
  if (existsSync('/proc/self/ns/time')) return userNamespaces();
  return { ok: false, reason: t('this kernel has no time namespace (Linux 5.6+ with CONFIG_TIME_NS)', '此内核没有 time namespace（需要 Linux 5.6+ 且开启 CONFIG_TIME_NS）') };
}

/**
 * As root, bridges live in the host's network namespace. As an ordinary user they live in the user's
 * rootless network namespace (a holder process started by the first `network create`), which needs
 * an egress helper (pasta or slirp4netns) that can open /dev/net/tun: checked as `network create`
 * checks them, so the reason is the one it would give.
 */
export function bridges(): Support {
  if (!isRootless()) return OK;
  const u = userNamespaces();
  if (!u.ok) return u;
  try {
    checkTun(chooseHelper(undefined).kind);
    return OK;
  } catch (e) {
    const why = (e as Error).message;
    return {
      ok: false,
      reason: t(
        `an ordinary user's bridge networks live in a rootless network namespace, which needs a usable egress helper: ${why}`,
        `普通用户的网桥网络位于 rootless network namespace 中，需要可用的出口助手（pasta 或 slirp4netns）：${why}`,
      ),
    };
  }
}

/** The subordinate uid ranges /etc/subuid gives the calling user (multi-range maps need them). */
export function ownSubuids(): number {
  const uid = process.getuid?.() ?? 0;
  let name = String(uid);
  try {
    name = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid))?.split(':')[0] ?? name;
  } catch { /* the uid alone */ }
  return subordinateRanges('/etc/subuid', name, uid).reduce((n, r) => n + r.count, 0);
}

/** Parses `/proc/PID/uid_map`: `inside outside length` per line. */
export function parseMap(text: string): [number, number, number][] {
  return text.split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter((f) => f.length === 3 && f.every(Number.isFinite)) as [number, number, number][];
}

/** A host id seen through a map (the overflow id 65534 when no line covers it). */
export function throughMap(map: [number, number, number][], hostId: number): number {
  for (const [inside, outside, length] of map) if (hostId >= outside && hostId < outside + length) return inside + hostId - outside;
  return 65534;
}

/** `Name:\tvalue…` fields of /proc/PID/status. */
export function statusField(pid: number, field: string): string[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? line.slice(field.length + 1).trim().split(/\s+/) : [];
}

/** `key=value` lines of a probe's output. */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

export const LONG_RUNNING = ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'];

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    return `(${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`;
  }
}

/**
 * The steps run the host's own tools inside (a default container sees the host's root read-only):
 * says which are missing, or passes `then` through.
 */
export function needs(tools: string[], then: Support): Support {
  const dirs = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  const missing = tools.filter((tool) => !dirs.some((d) => existsSync(`${d}/${tool}`)));
  if (missing.length === 0 || !then.ok) return then;
  return { ok: false, reason: t(`needs ${missing.join(', ')} on the host (the container runs the host's own tools)`, `宿主机上需要 ${missing.join('、')}（容器使用宿主机自己的工具）`) };
}
