//! Endpoints: attach a container's network namespace to a network (lease, veth, container-side
//! config, published ports, hosts/resolv.conf) and detach it again, exactly undoing what attach did.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::path::PathBuf;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{Errors, NetError, Result};
use crate::ipam;
use crate::link::{self, VethPeer};
use crate::netlink::Netlink;
use crate::network::{self, ignore_enodev, CreateOptions, DEFAULT_NETWORK, DEFAULT_SUBNET};
use crate::state::{self, Lease, Network, PortMap, Protocol, Store};
use crate::worker::{self, Visitor};
use crate::{files, nft, peers, sys, teardown};

pub const CONTAINER_IFNAME: &str = "eth0";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachOptions {
    /// `/proc/PID/ns/net` or a bind-mounted netns file.
    pub netns: String,
    /// Whose death frees the lease; taken from a /proc/PID/ns/net path when absent.
    pub owner_pid: Option<i32>,
    pub network: Option<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    /// `[HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp]`.
    #[serde(default)]
    pub ports: Vec<String>,
    pub container: Option<String>,
    pub hostname: Option<String>,
    #[serde(default)]
    pub dns: Vec<String>,
    /// Where to write the container's /etc/hosts, /etc/resolv.conf and /etc/hostname: files the caller
    /// already bound into the container (before its mounts were made, i.e. before attach). They are
    /// rewritten in place (truncate + write, same inode) and removed when the endpoint goes. Without
    /// them, hosts and resolv.conf are written under the endpoint's state directory.
    pub hosts_path: Option<String>,
    pub resolv_conf_path: Option<String>,
    pub hostname_path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: String,
    pub network: String,
    pub bridge: String,
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
    pub host_veth: String,
    pub container_ifname: String,
    pub netns: String,
    pub ports: Vec<PortMap>,
    pub hosts_path: String,
    pub resolv_conf_path: String,
    /// Peers whose hosts file could not be rewritten to list this container (see peers.rs): the
    /// attach succeeded regardless.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

pub fn parse_port(s: &str) -> Result<PortMap> {
    let bad = |m: &str| NetError::Invalid { field: "ports", message: format!("{s:?}: {m} (want [HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp])") };
    let (spec, proto) = match s.rsplit_once('/') {
        Some((a, "tcp")) => (a, Protocol::Tcp),
        Some((a, "udp")) => (a, Protocol::Udp),
        Some(_) => return Err(bad("protocol must be tcp or udp")),
        None => (s, Protocol::Tcp),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (host_ip, hp, cp) = match parts.as_slice() {
        [h, c] => (None, *h, *c),
        [ip, h, c] => (Some(ipam::parse_ip("ports", ip).map_err(|_| bad("bad host address"))?), *h, *c),
        _ => return Err(bad("wrong number of fields")),
    };
    let port = |p: &str| p.parse::<u16>().ok().filter(|v| *v > 0).ok_or_else(|| bad("ports are 1..65535"));
    let host_ip = host_ip.filter(|ip: &Ipv4Addr| !ip.is_unspecified());
    Ok(PortMap { host_ip, host_port: port(hp)?, container_port: port(cp)?, protocol: proto })
}

fn owner_of(path: &str) -> Option<i32> {
    path.strip_prefix("/proc/")?.strip_suffix("/ns/net")?.parse().ok()
}

fn clash(a: &PortMap, b: &PortMap) -> bool {
    a.protocol == b.protocol && a.host_port == b.host_port && (a.host_ip.is_none() || b.host_ip.is_none() || a.host_ip == b.host_ip)
}

/// Refuses a port another endpoint publishes or a host socket holds (checked by binding it briefly).
fn check_ports(ports: &[PortMap], others: &[Lease]) -> Result<()> {
    for (i, p) in ports.iter().enumerate() {
        let name = format!("{}{}/{}", p.host_ip.map(|i| format!("{i}:")).unwrap_or_default(), p.host_port, p.protocol.as_str());
        if let Some(l) = others.iter().find(|l| l.ports.iter().any(|q| clash(p, q))) {
            let by = format!("by {}", l.container.clone().unwrap_or(l.id.clone()));
            return Err(NetError::PortInUse { port: name, by, errno: Errno::EADDRINUSE });
        }
        if ports[..i].iter().any(|q| clash(p, q)) {
            return Err(NetError::PortInUse { port: name, by: "twice in this request".into(), errno: Errno::EADDRINUSE });
        }
        let addr = (p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), p.host_port);
        let r = match p.protocol {
            Protocol::Tcp => TcpListener::bind(addr).map(drop),
            Protocol::Udp => UdpSocket::bind(addr).map(drop),
        };
        if let Err(e) = r {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EADDRINUSE));
            return Err(NetError::PortInUse { port: name, by: format!("on the host: {}", errno.desc()), errno });
        }
    }
    Ok(())
}

/// Drops the leases whose owner died (undoing their veth and ports); returns the live ones.
pub(crate) fn reclaim_dead(store: &Store, net: &Network) -> Result<Vec<Lease>> {
    let leases = store.leases(&net.name)?;
    let (live, dead): (Vec<Lease>, Vec<Lease>) = leases.into_iter().partition(|l| sys::owner_alive(l.owner_pid, l.owner_start));
    if dead.is_empty() {
        return Ok(live);
    }
    let mut errs = Errors::default();
    for l in &dead {
        undo(store, l, &mut errs);
    }
    errs.keep(store.save_leases(&net.name, &live));
    // The live peers' hosts files no longer list the dead.
    peers::refresh_and_warn(&net.name, &live);
    errs.finish("reclaim leases").map(|_| live)
}

fn undo(store: &Store, l: &Lease, errs: &mut Errors) {
    // Published ports first (microseconds over netlink, see nft_elements), then the veth: it returns
    // once the kernel has unregistered it (see teardown.rs: the rest of its deletion, waiting for RCU
    // to free it, finishes on a helper thread).
    errs.keep(nft::update_ports(l, false));
    errs.keep(ignore_enodev(teardown::delete_link(&l.host_veth)));
    let dir = store.endpoint_dir(&l.id);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            errs.0.push(state::StateError::Io { op: "remove endpoint dir", path: dir, errno }.into());
        }
    }
    for f in &l.files {
        if let Err(e) = std::fs::remove_file(f) {
            if e.kind() != std::io::ErrorKind::NotFound {
                let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                errs.0.push(state::StateError::Io { op: "unlink", path: f.clone(), errno }.into());
            }
        }
    }
    // The caller's per-container directory, once nothing else is in it (ENOTEMPTY, ENOENT: leave it).
    let mut parents: Vec<&std::path::Path> = l.files.iter().filter_map(|f| f.parent()).collect();
    parents.sort();
    parents.dedup();
    for p in parents {
        let _ = std::fs::remove_dir(p);
    }
}

/// Attaches on nsbox-net's worker thread (the only thread of ours that enters a container's netns)
/// and waits for the result.
pub fn attach(store: &Store, opts: &AttachOptions) -> Result<Endpoint> {
    let (store, opts) = (store.clone(), opts.clone());
    worker::run(move |v| attach_on(v, &store, &opts))?
}

/// Attach, on the worker thread: `visitor` opens the container-side socket.
pub fn attach_on(visitor: &mut Visitor, store: &Store, opts: &AttachOptions) -> Result<Endpoint> {
    let name = opts.network.clone().unwrap_or_else(|| DEFAULT_NETWORK.into());
    network::validate_name("network", &name)?;
    let ports = opts.ports.iter().map(|p| parse_port(p)).collect::<Result<Vec<_>>>()?;
    let wanted_ip = opts.ip.as_deref().map(|s| ipam::parse_ip("ip", s)).transpose()?;
    let wanted_mac = opts.mac.as_deref().map(|s| ipam::parse_mac("mac", s)).transpose()?;
    let dns = opts.dns.iter().map(|s| ipam::parse_ip("dns", s)).collect::<std::result::Result<Vec<_>, _>>()?;
    for (field, p) in [("hostsPath", &opts.hosts_path), ("resolvConfPath", &opts.resolv_conf_path), ("hostnamePath", &opts.hostname_path)] {
        if p.as_ref().is_some_and(|p| !p.starts_with('/')) {
            return Err(NetError::Invalid { field, message: format!("{p:?} is not an absolute path") });
        }
    }
    let owner_pid = opts.owner_pid.or_else(|| owner_of(&opts.netns)).ok_or_else(|| NetError::Invalid {
        field: "ownerPid",
        message: format!("needed when the netns is not /proc/PID/ns/net (got {:?})", opts.netns),
    })?;
    let netns = sys::open_netns(&opts.netns)?;
    let owner_start = sys::process_start_time(owner_pid).ok_or(NetError::NoOwner { path: opts.netns.clone(), pid: owner_pid })?;
    // Opened before anything changes, so a namespace we cannot enter costs no rollback.
    let mut inside = visitor.netlink_in(netns.as_fd(), &opts.netns)?;

    let _lock = store.lock()?;
    let mut nl = Netlink::open()?;
    let net = match store.network(&name)? {
        Some(n) => n,
        None if name == DEFAULT_NETWORK => network::create_locked(
            store,
            &CreateOptions { name: name.clone(), subnet: Some(DEFAULT_SUBNET.into()), ..Default::default() },
        )?,
        None => return Err(NetError::NotFound { name }),
    };
    if net.internal && !ports.is_empty() {
        return Err(NetError::Invalid { field: "ports", message: format!("network {name:?} is internal: nothing can be published") });
    }
    let mut leases = reclaim_dead(store, &net)?;
    if leases.iter().any(|l| l.netns == opts.netns) {
        return Err(NetError::AlreadyAttached { path: opts.netns.clone(), network: name });
    }
    if !ports.is_empty() {
        // Published ports clash across networks: every network's leases (only read when needed).
        let mut others = Vec::new();
        for n in store.networks()? {
            others.extend(if n.name == name { leases.clone() } else { store.leases(&n.name)? });
        }
        check_ports(&ports, &others)?;
    }
    let mut used: HashSet<Ipv4Addr> = network::used_ips(&leases);
    used.insert(net.gateway);
    let ip = ipam::allocate(&name, &net.subnet, net.gateway, &used, wanted_ip)?;
    let mac = wanted_mac.unwrap_or_else(|| ipam::mac_for(ip));
    let id = sys::random_hex(12);
    let paths = files_for(store, &id, opts);
    let lease = Lease {
        id: id.clone(),
        container: opts.container.clone(),
        hostname: opts.hostname.clone(),
        ip,
        mac: link::format_mac(&mac),
        host_veth: format!("nsboxv{}", &id[..9]),
        netns: opts.netns.clone(),
        owner_pid,
        owner_start,
        ports,
        created: state::now(),
        files: [&opts.hosts_path, &opts.resolv_conf_path, &opts.hostname_path].into_iter().flatten().map(Into::into).collect(),
        hosts_path: Some(paths.hosts.0.clone()),
    };
    // The bridge can be gone (reboot, someone deleted it): put the network back first.
    let bridge = match link::link_index(&mut nl, &net.bridge)? {
        Some(i) => i,
        None => {
            network::bring_up(&mut nl, &net)?;
            let nets = store.networks()?;
            nft::sync_table(&nets, &network::all_leases(store, &nets)?)?;
            link::link_index(&mut nl, &net.bridge)?.ok_or(NetError::NotFound { name: net.bridge.clone() })?
        }
    };
    link::create_veth(&mut nl, &lease.host_veth, net.mtu, bridge, &VethPeer { name: CONTAINER_IFNAME, netns: netns.as_fd(), mac })?;
    let result = configure(&net, &lease, &leases, &dns, &mut inside, &paths);
    if let Err(e) = result {
        let mut errs = Errors(vec![e]);
        undo(store, &lease, &mut errs);
        return errs.fail("attach");
    }
    leases.push(lease.clone());
    if let Err(e) = store.save_leases(&name, &leases) {
        let mut errs = Errors(vec![e.into()]);
        undo(store, &lease, &mut errs);
        return errs.fail("attach");
    }
    // Only now that the lease is saved: the peers' hosts files list the newcomer.
    let warnings = peers::refresh(&name, &leases, Some(&lease.id)).iter().map(ToString::to_string).collect();
    Ok(Endpoint {
        id: lease.id,
        network: net.name,
        bridge: net.bridge,
        ip,
        prefix_len: net.subnet.prefix,
        gateway: net.gateway,
        mac: lease.mac,
        host_veth: lease.host_veth,
        container_ifname: CONTAINER_IFNAME.into(),
        netns: lease.netns,
        ports: lease.ports,
        hosts_path: paths.hosts.0.display().to_string(),
        resolv_conf_path: paths.resolv_conf.0.display().to_string(),
        warnings,
    })
}

/// Where attach writes the container's files: the caller's (bound in already, rewritten in place)
/// or the endpoint's state directory (new files).
struct FilePaths {
    /// The endpoint's directory, when some file goes there.
    dir: Option<PathBuf>,
    /// (path, given by the caller: rewrite in place).
    hosts: (PathBuf, bool),
    resolv_conf: (PathBuf, bool),
    hostname: Option<PathBuf>,
}

fn files_for(store: &Store, id: &str, opts: &AttachOptions) -> FilePaths {
    let dir = store.endpoint_dir(id);
    let pick = |given: &Option<String>, name: &str| match given {
        Some(p) => (PathBuf::from(p), true),
        None => (dir.join(name), false),
    };
    FilePaths {
        hosts: pick(&opts.hosts_path, "hosts"),
        resolv_conf: pick(&opts.resolv_conf_path, "resolv.conf"),
        hostname: opts.hostname_path.as_ref().map(PathBuf::from),
        dir: (opts.hosts_path.is_none() || opts.resolv_conf_path.is_none()).then_some(dir),
    }
}

/// The container's hostname: the one asked for, else the one it inherits (ours: its uts namespace
/// starts as a copy of the runtime's, which is the caller's).
fn hostname_of(lease: &Lease) -> String {
    lease.hostname.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
    })
}

/// Inside the container (over the socket opened in its netns): lo up, eth0's address, default
/// route; then published ports and the hosts/resolv.conf files.
fn configure(
    net: &Network,
    lease: &Lease,
    others: &[Lease],
    dns: &[Ipv4Addr],
    inside: &mut Netlink,
    paths: &FilePaths,
) -> Result<()> {
    link::configure_sandbox(inside, CONTAINER_IFNAME, lease.ip, net.subnet.prefix, net.gateway)?;
    nft::update_ports(lease, true)?;
    if let Some(dir) = &paths.dir {
        std::fs::create_dir_all(dir).map_err(|e| state::StateError::Io {
            op: "mkdir",
            path: dir.clone(),
            errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
    }
    let write = |(p, in_place): &(PathBuf, bool), text: &str| {
        if *in_place {
            state::write_in_place(p, text)
        } else {
            state::write_new(p, text)
        }
    };
    write(&paths.hosts, &peers::hosts_text(&net.name, lease, others))?;
    let host = std::fs::read_to_string("/etc/resolv.conf").ok();
    let upstream = std::fs::read_to_string("/run/systemd/resolve/resolv.conf").ok();
    let resolv = files::resolv_conf(dns, host.as_deref(), upstream.as_deref());
    write(&paths.resolv_conf, &resolv)?;
    if let Some(h) = &paths.hostname {
        state::write_in_place(h, &format!("{}\n", hostname_of(lease)))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetachOptions {
    /// Detach this netns (from `network`, or from every network when absent)...
    pub netns: Option<String>,
    /// ...or exactly this endpoint.
    pub endpoint: Option<String>,
    pub network: Option<String>,
}

/// Undoes attach for every matching lease, going on after failures; returns the endpoint ids removed.
pub fn detach(store: &Store, opts: &DetachOptions) -> Result<Vec<String>> {
    if opts.netns.is_none() && opts.endpoint.is_none() {
        return Err(NetError::Invalid { field: "netns", message: "give a netns path or an endpoint id".into() });
    }
    let _lock = store.lock()?;
    let mut errs = Errors::default();
    let mut removed = Vec::new();
    for net in store.networks()? {
        if opts.network.as_ref().is_some_and(|n| *n != net.name) {
            continue;
        }
        let leases = store.leases(&net.name)?;
        let hit = |l: &Lease| {
            opts.endpoint.as_ref().is_some_and(|e| *e == l.id) || opts.netns.as_ref().is_some_and(|n| *n == l.netns)
        };
        let (gone, keep): (Vec<Lease>, Vec<Lease>) = leases.into_iter().partition(hit);
        if gone.is_empty() {
            continue;
        }
        for l in &gone {
            undo(store, l, &mut errs);
            removed.push(l.id.clone());
        }
        errs.keep(store.save_leases(&net.name, &keep));
        // The remaining peers' hosts files no longer list the departed.
        peers::refresh_and_warn(&net.name, &keep);
    }
    errs.finish("detach").map(|_| removed)
}
