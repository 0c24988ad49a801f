//! Networks: create (bridge + gateway address + sysctls + rules), list, inspect, remove, prune.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::error::{Errors, NetError, Result};
use crate::ipam::{self, Ipv4Net};
use crate::link::{self, Link};
use crate::netlink::{Netlink, NetlinkError};
use crate::state::{self, Lease, Network, Store};
use crate::{endpoint, nft, sys};

pub const DEFAULT_NETWORK: &str = "nsbox";
pub const DEFAULT_BRIDGE: &str = "nsbox0";
pub const DEFAULT_SUBNET: &str = "10.88.0.0/16";
/// `network create` without --subnet takes the first free /24 here.
const POOL: (u32, u32) = (0x0a59_0000, 0x0a59_ff00); // 10.89.0.0 .. 10.89.255.0

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOptions {
    pub name: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub mtu: Option<u32>,
    #[serde(default)]
    pub internal: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSummary {
    #[serde(flatten)]
    pub network: Network,
    pub endpoints: usize,
}

/// A network with what the kernel says about it, for `inspect` and the TUI's topology view.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkDetail {
    #[serde(flatten)]
    pub network: Network,
    /// The bridge as the kernel has it now (None if it is missing).
    pub bridge_link: Option<Link>,
    pub endpoints: Vec<EndpointDetail>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointDetail {
    #[serde(flatten)]
    pub lease: Lease,
    pub host_link: Option<Link>,
    pub container_ifname: String,
    pub alive: bool,
}

pub fn validate_name(field: &'static str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        return Err(NetError::Invalid { field, message: format!("{name:?} is not a valid network name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64)") });
    }
    if ["none", "host", "bridge", "default"].contains(&name) {
        return Err(NetError::Invalid { field, message: format!("{name:?} is reserved") });
    }
    Ok(())
}

/// Creates a network. Holds the store lock for the whole operation.
pub fn create(store: &Store, opts: &CreateOptions) -> Result<Network> {
    validate_name("name", &opts.name)?;
    let _lock = store.lock()?;
    create_locked(store, opts)
}

/// Routes and addresses of the host that a new subnet must not overlap (default routes excluded).
fn host_prefixes(nl: &mut Netlink) -> Result<Vec<(Ipv4Net, String)>> {
    let links = link::list_links(nl)?;
    let name = |i: Option<u32>| links.iter().find(|l| Some(l.index) == i).map(|l| l.name.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for r in link::list_routes(nl)? {
        if let (Some(IpAddr::V4(d)), true) = (r.destination, r.prefix_len > 0 && r.table == 254) {
            let net = Ipv4Net { addr: Ipv4Addr::from(u32::from(d) & ipam::mask(r.prefix_len)), prefix: r.prefix_len };
            out.push((net, format!("host route {net} dev {}", name(r.oif))));
        }
    }
    Ok(out)
}

pub(crate) fn create_locked(store: &Store, opts: &CreateOptions) -> Result<Network> {
    if store.network(&opts.name)?.is_some() {
        return Err(NetError::Exists { name: opts.name.clone() });
    }
    let existing = store.networks()?;
    let mut nl = Netlink::open()?;
    let mut taken: Vec<(Ipv4Net, String)> =
        existing.iter().map(|n| (n.subnet, format!("network {:?} ({})", n.name, n.subnet))).collect();
    taken.extend(host_prefixes(&mut nl)?.into_iter().filter(|(n, _)| !existing.iter().any(|e| e.subnet == *n)));
    let subnet = match &opts.subnet {
        Some(s) => {
            let net = Ipv4Net::parse("subnet", s)?;
            if let Some((_, what)) = taken.iter().find(|(t, _)| t.overlaps(&net)) {
                return Err(NetError::Overlap { subnet: net.to_string(), other: what.clone() });
            }
            net
        }
        None => (POOL.0..=POOL.1)
            .step_by(256)
            .map(|a| Ipv4Net { addr: Ipv4Addr::from(a), prefix: 24 })
            .find(|n| !taken.iter().any(|(t, _)| t.overlaps(n)))
            .ok_or(NetError::Invalid { field: "subnet", message: "no free /24 left in 10.89.0.0/16; pass --subnet".into() })?,
    };
    let gateway = match &opts.gateway {
        Some(g) => {
            let ip = ipam::parse_ip("gateway", g)?;
            if !subnet.is_host(ip) {
                return Err(ipam::IpamError::OutsideSubnet { field: "gateway", ip, subnet }.into());
            }
            ip
        }
        None => subnet.default_gateway(),
    };
    let mtu = opts.mtu.unwrap_or(1500);
    if !(68..=65535).contains(&mtu) {
        return Err(NetError::Invalid { field: "mtu", message: format!("{mtu} is outside 68..65535") });
    }
    let id = sys::random_hex(16);
    let bridge = if opts.name == DEFAULT_NETWORK { DEFAULT_BRIDGE.to_string() } else { format!("nsbox-{}", &id[..9]) };
    let mut mac = sys::random_bytes::<6>();
    mac[0] = (mac[0] & 0xfe) | 0x02; // unicast, locally administered
    let net = Network {
        name: opts.name.clone(),
        id,
        bridge,
        subnet,
        gateway,
        mtu,
        internal: opts.internal,
        mac: link::format_mac(&mac),
        created: state::now(),
    };
    let mut all = existing.clone();
    all.push(net.clone());
    let leases = all_leases(store, &existing)?;
    if let Err(e) = bring_up(&mut nl, &net).and_then(|_| Ok(nft::sync_table(&all, &leases)?)) {
        let mut errs = Errors(vec![e]);
        errs.keep(ignore_enodev(link::delete_link(&mut nl, &net.bridge)));
        return errs.fail("create network");
    }
    if let Err(e) = store.save_network(&net) {
        let mut errs = Errors(vec![e.into()]);
        errs.keep(link::delete_link(&mut nl, &net.bridge));
        errs.keep(nft::sync_table(&existing, &leases));
        return errs.fail("create network");
    }
    Ok(net)
}

/// Bridge with its fixed MAC and MTU, the gateway address, forwarding on, route_localnet for
/// published ports reached via 127.0.0.1.
pub(crate) fn bring_up(nl: &mut Netlink, net: &Network) -> Result<()> {
    let mac = ipam::parse_mac("mac", &net.mac)?;
    let index = link::create_bridge(nl, &net.bridge, mac, net.mtu)?;
    link::add_address(nl, index, &net.bridge, net.gateway, net.subnet.prefix)?;
    if !net.internal {
        sys::sysctl_write("net/ipv4/ip_forward", "1")?;
    }
    sys::sysctl_write(&format!("net/ipv4/conf/{}/route_localnet", net.bridge), "1")?;
    Ok(())
}

pub(crate) fn ignore_enodev(r: std::result::Result<(), NetlinkError>) -> std::result::Result<(), NetlinkError> {
    match r {
        Err(NetlinkError::Kernel { errno: nix::errno::Errno::ENODEV, .. }) => Ok(()),
        r => r,
    }
}

pub(crate) fn all_leases(store: &Store, nets: &[Network]) -> Result<Vec<Lease>> {
    let mut out = Vec::new();
    for n in nets {
        out.extend(store.leases(&n.name)?);
    }
    Ok(out)
}

pub fn list(store: &Store) -> Result<Vec<NetworkSummary>> {
    let mut out = Vec::new();
    for n in store.networks()? {
        let endpoints = store.leases(&n.name)?.iter().filter(|l| sys::owner_alive(l.owner_pid, l.owner_start)).count();
        out.push(NetworkSummary { network: n, endpoints });
    }
    Ok(out)
}

pub fn inspect(store: &Store, name: &str) -> Result<NetworkDetail> {
    let network = store.network(name)?.ok_or_else(|| NetError::NotFound { name: name.into() })?;
    let mut nl = Netlink::open()?;
    let links = link::list_links(&mut nl)?;
    let find = |n: &str| links.iter().find(|l| l.name == n).cloned();
    let endpoints = store
        .leases(name)?
        .into_iter()
        .map(|lease| EndpointDetail {
            host_link: find(&lease.host_veth),
            container_ifname: endpoint::CONTAINER_IFNAME.into(),
            alive: sys::owner_alive(lease.owner_pid, lease.owner_start),
            lease,
        })
        .collect();
    Ok(NetworkDetail { bridge_link: find(&network.bridge), network, endpoints })
}

/// Removes a network that no live container uses (leases of dead owners are reclaimed first).
pub fn remove(store: &Store, name: &str) -> Result<()> {
    let _lock = store.lock()?;
    remove_locked(store, name)
}

fn remove_locked(store: &Store, name: &str) -> Result<()> {
    let net = store.network(name)?.ok_or_else(|| NetError::NotFound { name: name.into() })?;
    let live = endpoint::reclaim_dead(store, &net)?;
    let mut nl = Netlink::open()?;
    if !live.is_empty() {
        let who: Vec<String> = live.iter().map(|l| format!("{} ({})", l.container.clone().unwrap_or(l.id.clone()), l.ip)).collect();
        return Err(NetError::InUse { name: name.into(), endpoints: who.join(", ") });
    }
    let mut errs = Errors::default();
    errs.keep(ignore_enodev(link::delete_link(&mut nl, &net.bridge)));
    errs.keep(store.delete_network(name));
    if let Some(rest) = errs.keep(store.networks()) {
        if let Some(leases) = errs.keep(all_leases(store, &rest)) {
            errs.keep(nft::sync_table(&rest, &leases));
        }
    }
    errs.finish("remove network")
}

/// Removes every network without live endpoints; returns their names.
pub fn prune(store: &Store) -> Result<Vec<String>> {
    let _lock = store.lock()?;
    let mut removed = Vec::new();
    let mut errs = Errors::default();
    for n in store.networks()? {
        match remove_locked(store, &n.name) {
            Ok(()) => removed.push(n.name),
            Err(NetError::InUse { .. }) => {}
            Err(e) => errs.0.push(e),
        }
    }
    errs.finish("prune networks").map(|_| removed)
}

pub(crate) fn used_ips(leases: &[Lease]) -> HashSet<Ipv4Addr> {
    leases.iter().map(|l| l.ip).collect()
}
