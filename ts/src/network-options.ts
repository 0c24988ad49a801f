/**
 * The networking options' types and shape checks. Connecting containers to networks is the
 * networking work's (ts/src/network, through a start hook: see hooks.ts); here we only make sure
 * what reaches it is well formed.
 */
import net from 'node:net';

import { invalidSpec } from './errors.js';

export interface PortMapping {
  /** Host address to bind; default all addresses. */
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol?: 'tcp' | 'udp';
}

export interface NetworkOptions {
  /**
   * 'host': share the host's network namespace; 'none': a new one with only `lo`; any other name: that
   * network. Rootless: 'pasta' or 'slirp4netns' (a user-mode helper; the default network 'nsbox'
   * means pasta when installed, else slirp4netns).
   */
  network?: string;
  /**
   * Rootless helpers only: let the container reach the host's loopback through the gateway address
   * (pasta without --no-map-gw, slirp4netns without --disable-host-loopback). Off by default, as
   * podman's: the host's loopback services are not the container's business.
   */
  hostLoopback?: boolean;
  /** Address for the container on its network. */
  ip?: string;
  /** MAC address of the container's interface. */
  mac?: string;
  /** Published ports (`-p`). */
  ports?: PortMapping[];
  /** Name servers for the container's resolv.conf. */
  dns?: string[];
}

/** 'host' and 'none' are handled by choosing namespaces; anything else is a named network. */
export function isNamedNetwork(network: string | undefined): network is string {
  return network !== undefined && network !== 'host' && network !== 'none';
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function validateNetworkOptions(o: NetworkOptions): void {
  if (o.network !== undefined && (typeof o.network !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.network))) {
    throw invalidSpec('network', `${JSON.stringify(o.network)} is not a network name`);
  }
  if (o.ip !== undefined && (typeof o.ip !== 'string' || net.isIP(o.ip) === 0)) {
    throw invalidSpec('ip', `${JSON.stringify(o.ip)} is not an IP address`);
  }
  if (o.mac !== undefined && (typeof o.mac !== 'string' || !MAC.test(o.mac))) {
    throw invalidSpec('mac', `${JSON.stringify(o.mac)} is not a MAC address (xx:xx:xx:xx:xx:xx)`);
  }
  if (o.dns !== undefined) {
    if (!Array.isArray(o.dns)) throw invalidSpec('dns', 'must be an array of IP addresses');
    o.dns.forEach((d, i) => {
      if (typeof d !== 'string' || net.isIP(d) === 0) throw invalidSpec(`dns[${i}]`, `${JSON.stringify(d)} is not an IP address`);
    });
  }
  if (o.ports !== undefined) {
    if (!Array.isArray(o.ports)) throw invalidSpec('ports', 'must be an array of { hostPort, containerPort }');
    o.ports.forEach((p, i) => validatePort(`ports[${i}]`, p));
  }
  if (o.hostLoopback !== undefined && typeof o.hostLoopback !== 'boolean') throw invalidSpec('hostLoopback', 'must be true or false');
  if (o.hostLoopback && o.network !== 'pasta' && o.network !== 'slirp4netns' && o.network !== 'nsbox') {
    throw invalidSpec('hostLoopback', `only a rootless helper network (pasta, slirp4netns) has it, not ${JSON.stringify(o.network ?? null)}`);
  }
  // Addresses and published ports only mean something on a network nsbox manages.
  for (const f of ['ip', 'mac', 'ports'] as const) {
    if (o[f] !== undefined && !isNamedNetwork(o.network)) {
      throw invalidSpec(f, `needs a named network (network: ${JSON.stringify(o.network ?? null)})`);
    }
  }
}

function validatePort(field: string, p: unknown): void {
  if (typeof p !== 'object' || p === null) throw invalidSpec(field, 'must be { hostPort, containerPort }');
  const r = p as Record<string, unknown>;
  for (const k of ['hostPort', 'containerPort'] as const) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
      throw invalidSpec(`${field}.${k}`, `must be a port between 1 and 65535, not ${JSON.stringify(v)}`);
    }
  }
  if (r.hostIp !== undefined && (typeof r.hostIp !== 'string' || net.isIP(r.hostIp) === 0)) {
    throw invalidSpec(`${field}.hostIp`, `${JSON.stringify(r.hostIp)} is not an IP address`);
  }
  if (r.protocol !== undefined && r.protocol !== 'tcp' && r.protocol !== 'udp') {
    throw invalidSpec(`${field}.protocol`, `must be 'tcp' or 'udp', not ${JSON.stringify(r.protocol)}`);
  }
}
