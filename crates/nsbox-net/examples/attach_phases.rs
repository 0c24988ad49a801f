//! Where does attach's own time go? Times its kernel-facing steps in a throwaway network + mount
//! namespace (this program re-executes itself under `unshare`), alternating variants run by run:
//! creating the veth pair with the kernel's default queue count (one per possible CPU, trimmed to
//! one after registration) against one tx/rx queue given in the request; and the cost of getting a
//! netlink socket into the container's namespace (a round trip to nsbox-net's worker thread: setns,
//! socket, setns back).
//!
//! ```
//! cargo run --release -p nsbox-net --example attach_phases [RUNS]
//! ```
#[path = "common/mod.rs"]
mod common;

use std::os::fd::{AsFd, AsRawFd};
use std::time::Instant;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage as Rt;
use nsbox_net::link::{self, VethPeer};
use nsbox_net::netlink::Netlink;

fn us(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e6
}

/// The pair as attach made it before: no queue counts in the request.
fn veth_default_queues(nl: &mut Netlink, host: &str, master: u32, netns: std::os::fd::BorrowedFd<'_>) {
    let mut p = LinkMessage::default();
    p.attributes = vec![
        LinkAttribute::IfName("eth0".into()),
        LinkAttribute::NetNsFd(netns.as_raw_fd()),
        LinkAttribute::Address(vec![2, 0x42, 10, 0, 0, 2]),
        LinkAttribute::Mtu(1500),
    ];
    let mut msg = LinkMessage::default();
    msg.header.flags = LinkFlags::Up;
    msg.header.change_mask = LinkFlags::Up;
    msg.attributes = vec![
        LinkAttribute::IfName(host.into()),
        LinkAttribute::Mtu(1500),
        LinkAttribute::Controller(master),
        LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Veth), LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p)))]),
    ];
    nl.request(Rt::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL, "create veth", host).unwrap();
}

fn inner(runs: usize) {
    let common::Bed { mut child, path, mut nl, bridge, netns } = common::bed();
    let (mut default_q, mut one_q, mut sock) = (vec![], vec![], vec![]);
    for i in 0..runs + 2 {
        let t = Instant::now();
        veth_default_queues(&mut nl, "probe0", bridge, netns.as_fd());
        let a = us(t);
        link::delete_link(&mut nl, "probe0").unwrap();
        let t = Instant::now();
        let peer = VethPeer { name: "eth0", netns: netns.as_fd(), mac: [2, 0x42, 10, 0, 0, 2] };
        link::create_veth(&mut nl, "probe0", 1500, bridge, &peer).unwrap();
        let b = us(t);
        link::delete_link(&mut nl, "probe0").unwrap();
        let t = Instant::now();
        drop(common::netlink_in(netns.as_fd(), &path));
        let c = us(t);
        if i >= 2 {
            default_q.push(a);
            one_q.push(b);
            sock.push(c);
        }
    }
    let _ = link::delete_link(&mut nl, "br-probe");
    let _ = child.kill();
    println!("medians of {runs} (µs):");
    println!("  create veth, default queues (one per possible CPU): {:.0}", common::median(default_q));
    println!("  create veth, 1 tx + 1 rx queue in the request:     {:.0}", common::median(one_q));
    println!("  netlink socket in the container's netns (worker):  {:.0}", common::median(sock));
}

fn main() {
    common::in_throwaway_netns(50, inner);
}
