/** The shapes the network functions return (the Rust core's JSON, camelCase). */

export interface NetworkClientOptions {
  /** State directory (default: `NSBOX_ROOT`, else /var/lib/nsbox and /run/nsbox). */
  root?: string;
}

export interface Network {
  name: string;
  id: string;
  /** The Linux bridge: `nsbox0` for the default network, `nsbox-<id>` otherwise. */
  bridge: string;
  subnet: string;
  /** The bridge's own address: the containers' default route. */
  gateway: string;
  mtu: number;
  /** No egress, no published ports. */
  internal: boolean;
  /** The bridge's fixed MAC. */
  mac: string;
  /** Unix seconds. */
  created: number;
  /** A rootless user's network: its bridge is in the user's rootless network namespace, not the host's. */
  rootless?: boolean;
}

export interface NetworkSummary extends Network {
  /** Endpoints whose container is alive. */
  endpoints: number;
}

export interface PublishedPort {
  hostIp: string | null;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export interface LinkInfo {
  index: number;
  name: string;
  kind: string | null;
  mac: string | null;
  mtu: number | null;
  up: boolean;
  /** ifindex of the bridge the link is enslaved to. */
  master: number | null;
  /** For a veth: the other end's ifindex, in its own namespace (the container's `eth0`). */
  peer: number | null;
}

/** One container on a network: bridge → host-side veth → container `eth0`. */
export interface EndpointDetail {
  id: string;
  container: string | null;
  hostname: string | null;
  ip: string;
  mac: string;
  hostVeth: string;
  netns: string;
  ownerPid: number;
  ownerStart: number;
  ports: PublishedPort[];
  created: number;
  /** The host end as the kernel has it now (null if gone). */
  hostLink: LinkInfo | null;
  containerIfname: string;
  alive: boolean;
}

export interface NetworkDetail extends Network {
  bridgeLink: LinkInfo | null;
  endpoints: EndpointDetail[];
}

/** What attaching a container produced. */
export interface Endpoint {
  id: string;
  network: string;
  bridge: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  hostVeth: string;
  containerIfname: string;
  netns: string;
  ports: PublishedPort[];
  /**
   * The container's /etc/hosts and /etc/resolv.conf: the `hostsPath`/`resolvConfPath` given to attach
   * (bound in by `run`), else files under the endpoint's state directory.
   */
  hostsPath: string;
  resolvConfPath: string;
  /**
   * Peers on the network whose hosts file could not be rewritten to list this container (the
   * attach succeeded regardless); absent when there were none.
   */
  warnings?: string[];
}

export interface CreateNetworkOptions extends NetworkClientOptions {
  name: string;
  /** CIDR, e.g. 10.201.0.0/24; default: the first free /24 of 10.89.0.0/16. */
  subnet?: string;
  /** Default: the subnet's first host address. */
  gateway?: string;
  /** Default 1500. */
  mtu?: number;
  internal?: boolean;
}

/** A port to publish: an object, or docker's `[HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp]`. */
export type PortSpec = string | { hostIp?: string; hostPort: number; containerPort: number; protocol?: 'tcp' | 'udp' };

export interface AttachOptions extends NetworkClientOptions {
  /** The container's first process; its netns is /proc/PID/ns/net and its death frees the lease. */
  pid?: number;
  /** Or a netns file (then `ownerPid` says whose death frees the lease). */
  netns?: string;
  ownerPid?: number;
  /** Default: `nsbox` (created on first use). */
  network?: string;
  ip?: string;
  mac?: string;
  ports?: PortSpec[];
  /** Name for /etc/hosts and `inspect`. */
  container?: string;
  hostname?: string;
  dns?: string[];
  /**
   * Absolute paths of files already bound into the container (run's prepare stage creates and binds
   * them before the runtime's mounts): attach rewrites them in place (truncate + write, same inode)
   * with the final content, and detach removes them (and their directory once empty).
   */
  hostsPath?: string;
  resolvConfPath?: string;
  hostnamePath?: string;
}

export interface DetachOptions extends NetworkClientOptions {
  pid?: number;
  netns?: string;
  /** An endpoint id from attach. */
  endpoint?: string;
  network?: string;
}
