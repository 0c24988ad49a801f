/** The eight namespace ids of a process, for comparing a container with the host. */
import { nativeReadNamespaces } from './native.js';
import { NAMESPACE_KINDS, type NamespaceKind } from './options.js';

export type NamespaceIds = Record<NamespaceKind, number>;

/**
 * Inode numbers of `/proc/PID/ns/*` (default: this process). Two processes share a namespace
 * exactly when the ids match. Rejects with NotFoundError (no such pid) or PermissionError.
 */
export async function namespaces(pid?: number): Promise<NamespaceIds> {
  if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0)) throw new TypeError(`not a pid: ${String(pid)}`);
  const list = await nativeReadNamespaces(pid);
  const out = {} as NamespaceIds;
  for (const kind of NAMESPACE_KINDS) {
    const found = list.find((n) => n.kind === kind);
    if (!found) throw new TypeError(`the addon reported no ${kind} namespace`);
    out[kind] = found.id;
  }
  return out;
}
