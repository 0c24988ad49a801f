//! Where does the time of deleting an endpoint's veth go? Times variants of the deletion in a
//! throwaway network + mount namespace (this program re-executes itself under `unshare`), with the
//! container end in a second namespace, as attach leaves it (eth0 up, address, default route).
//!
//! ```
//! cargo run --release -p nsbox-net --example veth_teardown [RUNS]
//! ```
//! Variants: delete the host end (what detach did); delete eth0 from inside the container's netns;
//! set the host end down first; no bridge; four pairs deleted in one request (by link group); and
//! the time until the kernel's RTM_DELLINK notification (the link is unregistered) against the time
//! until the request's ack (after `rcu_barrier()` in `netdev_run_todo`); and `teardown::delete_link`,
//! which returns at that notification.
#[path = "common/mod.rs"]
mod common;

use std::os::fd::AsFd;
use std::time::Instant;

use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage as Rt;
use nsbox_net::link::{self, VethPeer};
use nsbox_net::netlink::Netlink;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

struct Setup {
    nl: Netlink,
    bridge: u32,
    netns: std::os::fd::OwnedFd,
    path: String,
}

impl Setup {
    /// A veth like attach makes; returns the container-side socket (for eth0-side variants).
    fn veth(&mut self, name: &str, ifname: &str, master: bool, group: Option<u32>) -> Netlink {
        let peer = VethPeer { name: ifname, netns: self.netns.as_fd(), mac: [2, 0x42, 10, 0, 0, 2] };
        link::create_veth(&mut self.nl, name, 1500, if master { self.bridge } else { 0 }, &peer).unwrap();
        if let Some(g) = group {
            let mut m = LinkMessage::default();
            m.attributes = vec![LinkAttribute::IfName(name.into()), LinkAttribute::Group(g)];
            self.nl.request(Rt::SetLink(m), 0, "set group", name).unwrap();
        }
        let mut inside = common::netlink_in(self.netns.as_fd(), &self.path);
        link::configure_sandbox(&mut inside, ifname, "10.9.0.2".parse().unwrap(), 24, "10.9.0.1".parse().unwrap()).ok();
        inside
    }
}

fn inner(runs: usize) {
    let common::Bed { mut child, path, nl, bridge, netns } = common::bed();
    let mut s = Setup { nl, bridge, netns, path };
    let mut rows: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut add = |name: &'static str, v: f64| match rows.iter_mut().find(|r| r.0 == name) {
        Some(r) => r.1.push(v),
        None => rows.push((name, vec![v])),
    };
    let mut events = Netlink::open_subscribed(&[libc::RTNLGRP_LINK]).unwrap();
    for i in 0..runs + 2 {
        let warm = i < 2;
        let mut rec = |name, v| if !warm { add(name, v) };
        s.veth("probe0", "eth0", true, None);
        let t = Instant::now();
        link::delete_link(&mut s.nl, "probe0").unwrap();
        rec("delete host end (ack)", ms(t));

        let mut inside = s.veth("probe0", "eth0", true, None);
        let t = Instant::now();
        link::delete_link(&mut inside, "eth0").unwrap();
        rec("delete eth0 from inside the netns (ack)", ms(t));

        s.veth("probe0", "eth0", true, None);
        let t = Instant::now();
        let mut m = LinkMessage::default();
        m.header.change_mask = LinkFlags::Up;
        m.attributes.push(LinkAttribute::IfName("probe0".into()));
        s.nl.request(Rt::SetLink(m), 0, "set down", "probe0").unwrap();
        let down = ms(t);
        let t2 = Instant::now();
        link::delete_link(&mut s.nl, "probe0").unwrap();
        rec("set down first: the down", down);
        rec("set down first: the delete", ms(t2));

        s.veth("probe0", "eth0", false, None);
        let t = Instant::now();
        link::delete_link(&mut s.nl, "probe0").unwrap();
        rec("delete host end, no bridge (ack)", ms(t));

        for k in 0..4 {
            s.veth(&format!("probeg{k}"), &format!("eth{}", k + 1), true, Some(7));
        }
        let t = Instant::now();
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::Group(7));
        s.nl.request(Rt::DelLink(m), 0, "delete group", "7").unwrap();
        rec("4 pairs in one request (by group), per pair", ms(t) / 4.0);

        s.veth("probe0", "eth0", true, None);
        events.drain_notifications();
        let t = Instant::now();
        let h = std::thread::spawn(|| {
            let mut nl = Netlink::open().unwrap();
            let t = Instant::now();
            link::delete_link(&mut nl, "probe0").unwrap();
            t
        });
        'wait: loop {
            for m in events.notifications().unwrap() {
                if let Rt::DelLink(l) = m {
                    if l.attributes.iter().any(|a| matches!(a, LinkAttribute::IfName(n) if n == "probe0")) {
                        break 'wait;
                    }
                }
            }
        }
        rec("delete host end: until RTM_DELLINK notification", ms(t));
        let _ = h.join().unwrap();
        rec("delete host end: until ack (same request)", ms(t));

        s.veth("probe0", "eth0", true, None);
        let t = Instant::now();
        nsbox_net::teardown::delete_link("probe0").unwrap();
        rec("nsbox_net::teardown::delete_link (what detach does)", ms(t));
        assert!(link::link_index(&mut s.nl, "probe0").unwrap().is_none(), "gone when it returns");
        let t = Instant::now();
        assert!(nsbox_net::teardown::settle().is_empty());
        rec("  then teardown::settle() (the kernel's remainder)", ms(t));
    }
    for (name, v) in rows {
        println!("{name:<50} median {:6.2} ms  min {:6.2} ms  (n={})", common::median(v.clone()), v.iter().cloned().fold(f64::MAX, f64::min), v.len());
    }
    let _ = child.kill();
}

fn main() {
    common::in_throwaway_netns(20, inner);
}
