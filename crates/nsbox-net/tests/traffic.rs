//! Traffic: within a network (ping + TCP), across networks (dropped), egress with the host's source
//! address, published ports from outside, from the host (localhost too) and hairpin.
mod common;

use common::*;
use nsbox_net::{attach, create, AttachOptions, CreateOptions, Store};

macro_rules! ns_test {
    ($name:ident, $body:block) => {
        #[test]
        fn $name() {
            if in_throwaway_ns(stringify!($name)) $body
        }
    };
}

/// The store and its state root (kept alive as long as the store is used).
fn setup() -> (TempRoot, Store) {
    let r = root();
    let store = Store::new(Some(&*r));
    for (n, s) in [("blue", "10.201.0.0/24"), ("red", "10.202.0.0/24")] {
        create(&store, &CreateOptions { name: n.into(), subnet: Some(s.into()), ..Default::default() }).unwrap();
    }
    (r, store)
}

fn att(store: &Store, sb: &Sandbox, network: &str, ports: &[&str]) -> nsbox_net::Endpoint {
    let ports = ports.iter().map(|p| p.to_string()).collect();
    attach(store, &AttachOptions { netns: sb.netns(), network: Some(network.into()), ports, ..Default::default() }).unwrap()
}

ns_test!(same_network_talks_other_network_does_not, {
    let (_root, store) = setup();
    let (a, b, c) = (Sandbox::new(), Sandbox::new(), Sandbox::new());
    let _ea = att(&store, &a, "blue", &[]);
    let eb = att(&store, &b, "blue", &[]);
    let ec = att(&store, &c, "red", &[]);
    let _sb = b.echo_peer(7000);
    let _sc = c.echo_peer(7000);
    assert!(a.exec(&["ping", "-c1", "-W2", &eb.ip.to_string()]).0, "ping within blue");
    assert_eq!(a.tcp(&eb.ip.to_string(), 7000).as_deref(), Some("10.201.0.2"), "TCP within blue");
    assert!(!a.exec(&["ping", "-c1", "-W1", &ec.ip.to_string()]).0, "ping blue -> red must fail");
    assert_eq!(a.tcp(&ec.ip.to_string(), 7000), None, "TCP blue -> red must fail");
    assert!(!c.exec(&["ping", "-c1", "-W1", &eb.ip.to_string()]).0, "ping red -> blue must fail");
});

ns_test!(route_inside_is_not_in_host_table, {
    let (_root, store) = setup();
    let a = Sandbox::new();
    att(&store, &a, "blue", &[]);
    assert!(a.exec(&["ip", "route", "add", "192.0.2.0/24", "via", "10.201.0.1"]).0);
    assert!(a.exec(&["ip", "route"]).1.contains("192.0.2.0/24"));
    assert!(!sh("ip route").1.contains("192.0.2.0"), "{}", sh("ip route").1);
    assert!(!sh("ip route").1.contains("default via 10.201.0.1"));
});

ns_test!(egress_leaves_with_the_host_address, {
    let (_root, store) = setup();
    let out = outside();
    let _srv = out.echo_peer(9000);
    let a = Sandbox::new();
    att(&store, &a, "blue", &[]);
    assert_eq!(a.tcp("198.51.100.2", 9000).as_deref(), Some("198.51.100.1"), "masqueraded to the host's address");
    assert!(a.exec(&["ping", "-c1", "-W2", "198.51.100.2"]).0);
});

ns_test!(internal_network_has_no_egress, {
    let r = root();
    let store = Store::new(Some(&*r));
    create(&store, &CreateOptions { name: "priv".into(), subnet: Some("10.203.0.0/24".into()), internal: true, ..Default::default() }).unwrap();
    let out = outside();
    let _srv = out.echo_peer(9000);
    let (a, b) = (Sandbox::new(), Sandbox::new());
    att(&store, &a, "priv", &[]);
    let eb = att(&store, &b, "priv", &[]);
    assert!(a.exec(&["ping", "-c1", "-W2", &eb.ip.to_string()]).0, "inside an internal network traffic flows");
    assert_eq!(a.tcp("198.51.100.2", 9000), None);
});

ns_test!(published_port_from_outside_host_localhost_and_hairpin, {
    let (_root, store) = setup();
    let out = outside();
    let (a, b, c) = (Sandbox::new(), Sandbox::new(), Sandbox::new());
    let ea = att(&store, &a, "blue", &["8080:80", "127.0.0.1:8081:80/tcp"]);
    att(&store, &b, "blue", &[]);
    att(&store, &c, "red", &[]);
    assert_eq!(ea.ports.len(), 2);
    let _srv = a.echo_peer(80);
    assert_eq!(out.tcp("198.51.100.1", 8080).as_deref(), Some("198.51.100.2"), "from the outside peer");
    assert!(host_tcp("198.51.100.1", 8080).is_some(), "from the host via its address");
    assert!(host_tcp("127.0.0.1", 8080).is_some(), "from the host via localhost");
    assert!(host_tcp("127.0.0.1", 8081).is_some(), "host-ip-specific mapping");
    assert_eq!(out.tcp("198.51.100.1", 8081), None, "127.0.0.1-only mapping is not reachable from outside");
    assert!(b.tcp("198.51.100.1", 8080).is_some(), "hairpin from the same network");
    assert!(c.tcp("10.202.0.1", 8080).is_some(), "published ports are reachable from other networks");
});
