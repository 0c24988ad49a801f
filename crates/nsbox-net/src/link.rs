//! Links, addresses and routes over [`Netlink`]: bridges, veth pairs born in the container's netns, and
//! read-only listings for inspection and tests. Errors are the netlink module's (op, ifname, errno).

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteHeader, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage as Rt};
use serde::Serialize;

use crate::netlink::{Netlink, NetlinkError, Request, Result};

/// A link as a listing shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub kind: Option<String>,
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    pub up: bool,
    /// ifindex of the bridge this link is enslaved to.
    pub master: Option<u32>,
    /// For a veth: the other end's ifindex, in the namespace that end lives in (IFLA_LINK).
    pub peer: Option<u32>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub index: u32,
    pub address: IpAddr,
    pub prefix_len: u8,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub destination: Option<IpAddr>,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    pub table: u32,
}

pub fn format_mac(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

fn up_header(msg: &mut LinkMessage) {
    msg.header.flags = LinkFlags::Up;
    msg.header.change_mask = LinkFlags::Up;
}

/// The ifindex of `name`, or None if there is no such link.
pub fn link_index(nl: &mut Netlink, name: &str) -> Result<Option<u32>> {
    match get_link(nl, name) {
        Ok(l) => Ok(Some(l.index)),
        Err(NetlinkError::Kernel { errno: nix::errno::Errno::ENODEV, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn get_link(nl: &mut Netlink, name: &str) -> Result<Link> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.into()));
    let seq_op = "get link";
    let mut found = nl.get(Rt::GetLink(msg), seq_op, name)?;
    match found.pop() {
        Some(Rt::NewLink(l)) => Ok(to_link(&l)),
        _ => Err(NetlinkError::Kernel {
            op: seq_op.into(),
            target: name.into(),
            errno: nix::errno::Errno::ENODEV,
            message: "no such link".into(),
        }),
    }
}

/// Creates a bridge that is up, with a fixed MAC (so it does not change as ports come and go) and MTU.
pub fn create_bridge(nl: &mut Netlink, name: &str, mac: [u8; 6], mtu: u32) -> Result<u32> {
    let mut msg = LinkMessage::default();
    up_header(&mut msg);
    msg.attributes = vec![
        LinkAttribute::IfName(name.into()),
        LinkAttribute::Address(mac.to_vec()),
        LinkAttribute::Mtu(mtu),
        LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]),
    ];
    nl.request(Rt::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL, "create bridge", name)?;
    get_link(nl, name).map(|l| l.index)
}

pub fn delete_link(nl: &mut Netlink, name: &str) -> Result<()> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.into()));
    nl.request(Rt::DelLink(msg), 0, "delete link", name)
}

fn up_msg(name: &str) -> Rt {
    let mut msg = LinkMessage::default();
    up_header(&mut msg);
    msg.attributes.push(LinkAttribute::IfName(name.into()));
    Rt::SetLink(msg)
}

/// Sets a link up by name.
pub fn set_up(nl: &mut Netlink, name: &str) -> Result<()> {
    nl.request(up_msg(name), 0, "set link up", name)
}

/// Sets a link's transmit queue length (IFLA_TXQLEN) by index.
pub fn set_txqlen(nl: &mut Netlink, index: u32, name: &str, qlen: u32) -> Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes.push(LinkAttribute::TxQueueLen(qlen));
    nl.request(Rt::SetLink(msg), 0, "set link txqueuelen", name)
}

/// The container's end of a new veth pair.
pub struct VethPeer<'a> {
    pub name: &'a str,
    pub netns: BorrowedFd<'a>,
    pub mac: [u8; 6],
}

/// One message creates the pair: the host end up, MTU set and enslaved to `master`; the peer born in
/// its final netns (IFLA_NET_NS_FD), named, with its MAC and MTU. Both ends get one tx and one rx
/// queue: without IFLA_NUM_{TX,RX}_QUEUES the kernel allocates one per possible CPU, registers a
/// sysfs object for each, then trims both back to one real queue (`veth_init_queues`), and trimming
/// tx queues of a registered device waits for an expedited RCU grace period (`synchronize_net`)
/// under RTNL, once per end. The result in use is the same single queue either way.
pub fn create_veth(nl: &mut Netlink, host: &str, mtu: u32, master: u32, peer: &VethPeer<'_>) -> Result<()> {
    // Not up here: veth_open() of the peer fails with ENOTCONN until the pair is linked; the
    // container side sets it up over its own socket.
    let mut p = LinkMessage::default();
    p.attributes = vec![
        LinkAttribute::IfName(peer.name.into()),
        LinkAttribute::NetNsFd(peer.netns.as_raw_fd()),
        LinkAttribute::Address(peer.mac.to_vec()),
        LinkAttribute::Mtu(mtu),
        LinkAttribute::NumTxQueues(1),
        LinkAttribute::NumRxQueues(1),
    ];
    let mut msg = LinkMessage::default();
    up_header(&mut msg);
    msg.attributes = vec![
        LinkAttribute::IfName(host.into()),
        LinkAttribute::Mtu(mtu),
        LinkAttribute::NumTxQueues(1),
        LinkAttribute::NumRxQueues(1),
        LinkAttribute::Controller(master),
        LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
        ]),
    ];
    nl.request(Rt::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL, "create veth", host)
}

fn address_msg(index: u32, ip: Ipv4Addr, prefix_len: u8) -> Rt {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = prefix_len;
    msg.header.index = index;
    msg.header.scope = AddressScope::Universe;
    msg.attributes = vec![AddressAttribute::Local(ip.into()), AddressAttribute::Address(ip.into())];
    if prefix_len < 31 {
        let host_bits = u32::MAX.checked_shr(prefix_len as u32).unwrap_or(0);
        msg.attributes.push(AddressAttribute::Broadcast(Ipv4Addr::from(u32::from(ip) | host_bits)));
    }
    Rt::NewAddress(msg)
}

pub fn add_address(nl: &mut Netlink, index: u32, ifname: &str, ip: Ipv4Addr, prefix_len: u8) -> Result<()> {
    nl.request(address_msg(index, ip, prefix_len), NLM_F_CREATE | NLM_F_EXCL, "add address", ifname)
}

/// `default via gateway dev index` in the main table.
fn default_route_msg(index: u32, gateway: Ipv4Addr) -> Rt {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Inet;
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    msg.header.protocol = RouteProtocol::Boot;
    msg.header.scope = RouteScope::Universe;
    msg.header.kind = RouteType::Unicast;
    msg.attributes = vec![RouteAttribute::Gateway(RouteAddress::Inet(gateway)), RouteAttribute::Oif(index)];
    Rt::NewRoute(msg)
}

/// The sandbox side of an endpoint, over a socket in the container's namespace: `lo` up, `ifname`
/// up with its address, and the default route via the gateway. After looking up the index, one
/// datagram carries all four changes (the kernel applies them in this order).
pub fn configure_sandbox(nl: &mut Netlink, ifname: &str, ip: Ipv4Addr, prefix_len: u8, gateway: Ipv4Addr) -> Result<()> {
    let index = get_link(nl, ifname)?.index;
    let excl = NLM_F_CREATE | NLM_F_EXCL;
    nl.request_all(vec![
        Request { msg: up_msg("lo"), flags: 0, op: "set link up", target: "lo" },
        Request { msg: up_msg(ifname), flags: 0, op: "set link up", target: ifname },
        Request { msg: address_msg(index, ip, prefix_len), flags: excl, op: "add address", target: ifname },
        Request { msg: default_route_msg(index, gateway), flags: excl, op: "add default route", target: ifname },
    ])
}

fn to_link(l: &LinkMessage) -> Link {
    let mut out = Link {
        index: l.header.index,
        name: String::new(),
        kind: None,
        mac: None,
        mtu: None,
        up: l.header.flags.contains(LinkFlags::Up),
        master: None,
        peer: None,
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => out.name = n.clone(),
            LinkAttribute::Address(m) => out.mac = Some(format_mac(m)),
            LinkAttribute::Mtu(m) => out.mtu = Some(*m),
            LinkAttribute::Controller(m) => out.master = Some(*m),
            LinkAttribute::Link(p) => out.peer = Some(*p),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        out.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub fn list_links(nl: &mut Netlink) -> Result<Vec<Link>> {
    let msgs = nl.dump(Rt::GetLink(LinkMessage::default()), "dump links", "")?;
    Ok(msgs.iter().filter_map(|m| if let Rt::NewLink(l) = m { Some(to_link(l)) } else { None }).collect())
}

pub fn list_addresses(nl: &mut Netlink) -> Result<Vec<Address>> {
    let msgs = nl.dump(Rt::GetAddress(AddressMessage::default()), "dump addresses", "")?;
    let mut out = Vec::new();
    for m in msgs {
        let Rt::NewAddress(a) = m else { continue };
        let ip = a.attributes.iter().find_map(|x| match x {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        });
        let ip = ip.or_else(|| {
            a.attributes.iter().find_map(|x| if let AddressAttribute::Address(ip) = x { Some(*ip) } else { None })
        });
        if let Some(address) = ip {
            out.push(Address { index: a.header.index, address, prefix_len: a.header.prefix_len });
        }
    }
    Ok(out)
}

pub fn list_routes(nl: &mut Netlink) -> Result<Vec<Route>> {
    let mut req = RouteMessage::default();
    req.header.address_family = AddressFamily::Inet;
    let msgs = nl.dump(Rt::GetRoute(req), "dump routes", "")?;
    let mut out = Vec::new();
    for m in msgs {
        let Rt::NewRoute(r) = m else { continue };
        let mut route = Route {
            destination: None,
            prefix_len: r.header.destination_prefix_length,
            gateway: None,
            oif: None,
            table: r.header.table as u32,
        };
        for a in &r.attributes {
            match a {
                RouteAttribute::Destination(RouteAddress::Inet(ip)) => route.destination = Some((*ip).into()),
                RouteAttribute::Gateway(RouteAddress::Inet(ip)) => route.gateway = Some((*ip).into()),
                RouteAttribute::Oif(i) => route.oif = Some(*i),
                RouteAttribute::Table(t) => route.table = *t,
                _ => {}
            }
        }
        out.push(route);
    }
    Ok(out)
}
