mod common;

use common::*;
use nsbox_net::{attach, create, detach, inspect, remove, AttachOptions, CreateOptions, DetachOptions, Store};

macro_rules! ns_test {
    ($name:ident, $body:block) => {
        #[test]
        fn $name() {
            if in_throwaway_ns(stringify!($name)) $body
        }
    };
}

fn net(store: &Store, name: &str, subnet: &str) {
    create(store, &CreateOptions { name: name.into(), subnet: Some(subnet.into()), ..Default::default() }).unwrap();
}

fn att(store: &Store, sb: &Sandbox, network: &str) -> nsbox_net::Endpoint {
    attach(store, &AttachOptions { netns: sb.netns(), network: Some(network.into()), ..Default::default() }).unwrap()
}

ns_test!(bridge_veth_and_reachability, {
    let r = root();
    let store = Store::new(Some(&*r));
    net(&store, "blue", "10.201.0.0/24");
    let d = inspect(&store, "blue").unwrap();
    let (_, addrs) = sh(&format!("ip -4 addr show dev {}", d.network.bridge));
    assert!(addrs.contains("10.201.0.1/24"), "{addrs}");
    let a = Sandbox::new();
    let b = Sandbox::new();
    let ea = att(&store, &a, "blue");
    let eb = att(&store, &b, "blue");
    assert_eq!(ea.ip.to_string(), "10.201.0.2");
    assert_eq!(eb.ip.to_string(), "10.201.0.3");
    let (_, inside) = a.exec(&["ip", "-4", "addr", "show", "eth0"]);
    assert!(inside.contains("10.201.0.2/24"), "{inside}");
    let (_, routes) = a.exec(&["ip", "route"]);
    assert!(routes.contains("default via 10.201.0.1 dev eth0"), "{routes}");
    let (_, master) = sh(&format!("ip -o link show {}", ea.host_veth));
    assert!(master.contains(&format!("master {}", d.network.bridge)), "{master}");
    let (ok, out) = a.exec(&["ping", "-c1", "-W2", "10.201.0.3"]);
    assert!(ok, "ping a->b: {out}");
    let removed = detach(&store, &DetachOptions { netns: Some(a.netns()), ..Default::default() }).unwrap();
    assert_eq!(removed.len(), 1);
    let (_, links) = sh("ip -o link");
    assert!(!links.contains(&ea.host_veth), "{links}");
    assert!(remove(&store, "blue").is_err(), "b still uses it");
    detach(&store, &DetachOptions { netns: Some(b.netns()), ..Default::default() }).unwrap();
    remove(&store, "blue").unwrap();
    let (_, links) = sh("ip -o link");
    assert!(!links.contains("nsbox"), "{links}");
    let (_, tables) = sh("nft list tables");
    assert!(!tables.contains("nsbox"), "{tables}");
});
