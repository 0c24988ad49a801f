/**
 * A detached container's network endpoints outlive the process that attached them, so what
 * releasing one needs is written to `ID/endpoints.json` in the state root (before the command
 * starts): `remove()` — from any process — reads it and detaches each endpoint after the container
 * is gone. inspect shows the same records.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rm } from 'node:fs/promises';

import { detachContainer, inspectNetwork } from '../network/api.js';
import { containerFilesDir } from '../network/hook.js';
import type { Endpoint } from '../network/types.js';
import type { EndpointState } from './state.js';

/** endpoints.json: what inspect shows, plus the endpoint id and the network store's root for detach. */
export interface EndpointRecord extends EndpointState {
  /** The endpoint id (nsbox-net's lease). */
  endpoint: string;
  /** The network store's root (NSBOX_ROOT when attached), or null for the default. */
  netRoot: string | null;
  /** The container's /etc files (hosts, resolv.conf, hostname) bound in by networking's prepare stage. */
  filesDir: string | null;
}

/**
 * The host end's ifindex, asked of the kernel over netlink (via the network's inspect): a
 * /sys/class/net lookup would describe whichever network namespace that sysfs was mounted for.
 */
async function hostIfindexOf(ep: Endpoint, netRoot: string | undefined): Promise<number | undefined> {
  try {
    const detail = await inspectNetwork(ep.network, netRoot === undefined ? {} : { root: netRoot });
    return detail.endpoints.find((e) => e.id === ep.id)?.hostLink?.index ?? undefined;
  } catch {
    return undefined;
  }
}

export async function recordOf(id: string, ep: Endpoint, netRoot: string | undefined): Promise<EndpointRecord> {
  const r: EndpointRecord = {
    network: ep.network, bridge: ep.bridge, hostVeth: ep.hostVeth, address: `${ep.ip}/${ep.prefixLen}`, mac: ep.mac,
    gateway: ep.gateway, endpoint: ep.id, netRoot: netRoot ?? null, filesDir: containerFilesDir(id, netRoot), ports: ep.ports,
  };
  const i = await hostIfindexOf(ep, netRoot);
  if (i !== undefined) r.hostIfindex = i;
  return r;
}

/** Writes ID/endpoints.json atomically (tmp + rename). */
export function writeEndpoints(root: string, id: string, records: EndpointRecord[]): void {
  const file = path.join(root, id, 'endpoints.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(records, null, 2), { mode: 0o600 }); // owner-only, as all of ID/
  renameSync(tmp, file);
}

/** The records of a container (none when it has no endpoints.json). */
export function readEndpoints(root: string, id: string): EndpointRecord[] {
  try {
    const v = JSON.parse(readFileSync(path.join(root, id, 'endpoints.json'), 'utf8')) as unknown;
    return Array.isArray(v) ? (v as EndpointRecord[]).filter((r) => typeof r?.endpoint === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The records still to release: those the monitor has not released when the container ended (it
 * lists them in state.json's `releasedEndpoints`). Read before `delete` removes the directory; an
 * endpoint the monitor releases meanwhile is tolerated by detach (it finds no lease: nothing to do).
 */
export function unreleasedEndpoints(root: string, id: string): EndpointRecord[] {
  let released: unknown = [];
  try {
    released = (JSON.parse(readFileSync(path.join(root, id, 'state.json'), 'utf8')) as { releasedEndpoints?: unknown }).releasedEndpoints;
  } catch {
    /* no state (a creation cut short, or removed meanwhile): release all that is recorded */
  }
  const done = new Set(Array.isArray(released) ? released : []);
  return readEndpoints(root, id).filter((r) => !done.has(r.endpoint));
}

/** Detaches every recorded endpoint (veth, lease, nft rules, /etc files); returns the failures. */
export async function releaseEndpoints(records: EndpointRecord[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const r of records) {
    try {
      await detachContainer({ endpoint: r.endpoint, network: r.network, ...(r.netRoot ? { root: r.netRoot } : {}) });
    } catch (e) {
      errors.push(e);
    }
    try {
      if (r.filesDir) await rm(r.filesDir, { recursive: true, force: true });
    } catch (e) {
      errors.push(e);
    }
  }
  return errors;
}

