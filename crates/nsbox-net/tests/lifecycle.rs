//! Leases and teardown: concurrent attaches, reclaim after SIGKILL, 200 cycles back to the start,
//! and bad input with clear errors.
mod common;

use std::collections::HashSet;
use std::time::Instant;

use common::*;
use nsbox_core::WireError;
use nsbox_net::{attach, create, detach, inspect, list, prune, remove, AttachOptions, CreateOptions, DetachOptions, NetError, Store};

macro_rules! ns_test {
    ($name:ident, $body:block) => {
        #[test]
        fn $name() {
            if in_throwaway_ns(stringify!($name)) $body
        }
    };
}

fn net(store: &Store, name: &str, subnet: &str) -> Result<nsbox_net::state::Network, NetError> {
    create(store, &CreateOptions { name: name.into(), subnet: Some(subnet.into()), ..Default::default() })
}

fn code(e: &NetError) -> String {
    WireError::from(e).code
}

ns_test!(fifty_concurrent_attaches_get_unique_addresses, {
    let r = root();
    let store = Store::new(Some(&*r));
    net(&store, "blue", "10.201.0.0/24").unwrap();
    let boxes: Vec<Sandbox> = (0..50).map(|_| Sandbox::new()).collect();
    let ips: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = boxes
            .iter()
            .map(|b| {
                let r = r.to_path_buf();
                let ns = b.netns();
                // Each thread has its own Store and so its own lock fd: flock serialises them as it
                // would separate processes.
                s.spawn(move || {
                    let st = Store::new(Some(&*r));
                    attach(&st, &AttachOptions { netns: ns, network: Some("blue".into()), ..Default::default() }).unwrap().ip.to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let unique: HashSet<&String> = ips.iter().collect();
    assert_eq!(unique.len(), 50, "{ips:?}");
    assert_eq!(inspect(&store, "blue").unwrap().endpoints.len(), 50);
    for b in &boxes {
        let (_, a) = b.exec(&["ip", "-4", "-o", "addr", "show", "eth0"]);
        assert!(ips.iter().any(|ip| a.contains(&format!("{ip}/24"))), "{a}");
    }
});

ns_test!(sigkilled_owner_lease_is_reclaimed, {
    let r = root();
    let store = Store::new(Some(&*r));
    net(&store, "blue", "10.201.0.0/24").unwrap();
    let mut a = Sandbox::new();
    let ea = attach(&store, &AttachOptions { netns: a.netns(), network: Some("blue".into()), ports: vec!["8080:80".into()], ..Default::default() }).unwrap();
    a.kill(); // SIGKILL, no detach
    assert_eq!(list(&store).unwrap()[0].endpoints, 0, "a dead owner's endpoint does not count");
    let b = Sandbox::new();
    let eb = attach(&store, &AttachOptions { netns: b.netns(), network: Some("blue".into()), ip: Some(ea.ip.to_string()), ports: vec!["8080:80".into()], ..Default::default() }).unwrap();
    assert_eq!(eb.ip, ea.ip, "address reclaimed");
    let d = inspect(&store, "blue").unwrap();
    assert_eq!(d.endpoints.len(), 1);
    assert!(!sh("ip -o link").1.contains(&ea.host_veth));
    assert!(!r.join("run/endpoints").join(&ea.id).exists());
});

ns_test!(two_hundred_cycles_leave_everything_as_it_was, {
    let r = root();
    let store = Store::new(Some(&*r));
    net(&store, "blue", "10.201.0.0/24").unwrap();
    let before = snapshot(&r);
    let a = Sandbox::new();
    let t = Instant::now();
    let (mut at, mut dt) = (0u128, 0u128);
    for i in 0..200 {
        let ports = if i % 2 == 0 { vec!["8080:80".to_string()] } else { vec![] };
        let s = Instant::now();
        let ep = attach(&store, &AttachOptions { netns: a.netns(), network: Some("blue".into()), ports, ..Default::default() }).unwrap();
        at += s.elapsed().as_micros();
        let s = Instant::now();
        assert_eq!(detach(&store, &DetachOptions { netns: Some(a.netns()), ..Default::default() }).unwrap().len(), 1);
        dt += s.elapsed().as_micros();
        // The kernel may still be freeing the links (teardown.rs), but nothing of them is visible.
        if i % 20 == 0 {
            assert!(!sh("ip -o link").1.contains(&ep.host_veth), "host end gone when detach returns");
            let (_, inside) = a.exec(&["ip", "-o", "addr"]);
            assert!(!inside.contains("eth0") && !inside.contains("10.201.0."), "container side gone: {inside}");
            let (_, routes) = a.exec(&["ip", "route"]);
            assert!(routes.trim().is_empty(), "no route left inside: {routes}");
        }
    }
    assert!(nsbox_net::teardown::settle().is_empty(), "every deletion the kernel finished later succeeded");
    assert_eq!(nsbox_net::teardown::pending(), 0);
    eprintln!("200 cycles in {:?}: attach {} us, detach {} us on average", t.elapsed(), at / 200, dt / 200);
    assert_eq!(snapshot(&r), before);
    assert_eq!(a.exec(&["ip", "-o", "link"]).1.lines().count(), 1, "only lo left in the container");
    remove(&store, "blue").unwrap();
    let (links, rules, leases) = snapshot(&r);
    assert!(!links.contains("nsbox") && rules.trim().is_empty() && leases.is_empty(), "{links}\n{rules}");
});

ns_test!(default_network_is_created_on_first_use_and_pruned, {
    let r = root();
    let store = Store::new(Some(&*r));
    let a = Sandbox::new();
    let e = attach(&store, &AttachOptions { netns: a.netns(), container: Some("web".into()), ..Default::default() }).unwrap();
    assert_eq!((e.network.as_str(), e.bridge.as_str()), ("nsbox", "nsbox0"));
    assert!(std::fs::read_to_string(&e.hosts_path).unwrap().contains(&format!("{}\tweb", e.ip)));
    assert!(std::path::Path::new(&e.resolv_conf_path).exists());
    assert!(prune(&store).unwrap().is_empty(), "in use");
    detach(&store, &DetachOptions { endpoint: Some(e.id.clone()), ..Default::default() }).unwrap();
    assert_eq!(prune(&store).unwrap(), vec!["nsbox".to_string()]);
    assert!(sh("nft list tables").1.trim().is_empty());
});

ns_test!(caller_files_are_rewritten_in_place_and_removed, {
    use std::os::unix::fs::MetadataExt;
    let r = root();
    let store = Store::new(Some(&*r));
    net(&store, "blue", "10.201.0.0/24").unwrap();
    let a = Sandbox::new();
    let ea = attach(&store, &AttachOptions { netns: a.netns(), network: Some("blue".into()), container: Some("peer".into()), ..Default::default() }).unwrap();
    // As ts/src/network/hook.ts does before the runtime binds them in: placeholders that must keep
    // their inode (a bind mount pins it).
    let dir = r.join("run/containers/c1");
    std::fs::create_dir_all(&dir).unwrap();
    let [hosts, resolv, hostname] = ["hosts", "resolv.conf", "hostname"].map(|n| dir.join(n));
    for f in [&hosts, &resolv, &hostname] {
        std::fs::write(f, "placeholder placeholder placeholder placeholder\n").unwrap();
    }
    let inode = |p: &std::path::Path| std::fs::metadata(p).unwrap().ino();
    let before = [inode(&hosts), inode(&resolv), inode(&hostname)];
    let mut b = Sandbox::new();
    let s = |p: &std::path::Path| Some(p.display().to_string());
    let eb = attach(&store, &AttachOptions {
        netns: b.netns(), network: Some("blue".into()), container: Some("me".into()), hostname: Some("box".into()),
        dns: vec!["192.0.2.53".into()], hosts_path: s(&hosts), resolv_conf_path: s(&resolv), hostname_path: s(&hostname),
        ..Default::default()
    }).unwrap();
    assert_eq!(eb.hosts_path, hosts.display().to_string());
    assert_eq!([inode(&hosts), inode(&resolv), inode(&hostname)], before, "same inodes");
    let h = std::fs::read_to_string(&hosts).unwrap();
    assert!(h.contains(&format!("{}\tbox me\n", eb.ip)) && h.contains(&format!("{}\tpeer\n", ea.ip)), "{h}");
    assert!(!h.contains("placeholder"), "{h}");
    assert_eq!(std::fs::read_to_string(&resolv).unwrap(), "nameserver 192.0.2.53\n");
    assert_eq!(std::fs::read_to_string(&hostname).unwrap(), "box\n");
    assert!(!r.join("run/endpoints").join(&eb.id).exists(), "nothing written to the endpoint dir");
    // The earlier peer's hosts file (its endpoint's own: no hostsPath given) now lists the newcomer.
    let peer_hosts = || std::fs::read_to_string(&ea.hosts_path).unwrap();
    assert!(peer_hosts().contains(&format!("{}\tbox me\n", eb.ip)), "{}", peer_hosts());
    assert!(eb.warnings.is_empty(), "{:?}", eb.warnings);
    // Reclaim after SIGKILL removes them too, and the emptied directory; the peer forgets it.
    b.kill();
    let c = Sandbox::new();
    let ec = attach(&store, &AttachOptions { netns: c.netns(), network: Some("blue".into()), container: Some("cee".into()), ..Default::default() }).unwrap();
    assert!(!dir.exists(), "files and their directory removed with the lease");
    assert!(!peer_hosts().contains("box me"), "{}", peer_hosts());
    assert!(peer_hosts().contains(&format!("{}\tcee\n", ec.ip)), "{}", peer_hosts());
    // A peer whose file cannot be rewritten (a directory in its place) is a warning, not a failure.
    std::fs::remove_file(&ea.hosts_path).unwrap();
    std::fs::create_dir(&ea.hosts_path).unwrap();
    let d = Sandbox::new();
    let ed = attach(&store, &AttachOptions { netns: d.netns(), network: Some("blue".into()), container: Some("dee".into()), ..Default::default() }).unwrap();
    assert_eq!(ed.warnings.len(), 1, "{:?}", ed.warnings);
    assert!(ed.warnings[0].contains(&ea.hosts_path) && ed.warnings[0].contains("EISDIR"), "{:?}", ed.warnings);
    std::fs::remove_dir(&ea.hosts_path).unwrap();
    std::fs::write(&ea.hosts_path, "").unwrap();
    // Detach: the remaining peers' files drop the departed.
    detach(&store, &DetachOptions { endpoint: Some(ec.id.clone()), ..Default::default() }).unwrap();
    let dee = std::fs::read_to_string(&ed.hosts_path).unwrap();
    assert!(!dee.contains("cee") && dee.contains(&format!("{}\tpeer\n", ea.ip)), "{dee}");
    assert!(peer_hosts().contains(&format!("{}\tdee\n", ed.ip)) && !peer_hosts().contains("cee"), "{}", peer_hosts());
    let rel = AttachOptions { netns: c.netns(), hosts_path: Some("rel/hosts".into()), ..Default::default() };
    assert_eq!(code(&attach(&store, &rel).unwrap_err()), "ERR_INVALID_SPEC");
});

ns_test!(bad_input_gets_clear_errors, {
    let r = root();
    let store = Store::new(Some(&*r));
    net(&store, "blue", "10.201.0.0/24").unwrap();
    let e = net(&store, "blue2", "10.201.0.128/25").unwrap_err();
    assert_eq!(code(&e), "ERR_SUBNET_OVERLAP", "{e}");
    assert_eq!(code(&net(&store, "blue", "10.9.0.0/24").unwrap_err()), "EEXIST");
    assert_eq!(code(&net(&store, "x", "10.9.0.1/24").unwrap_err()), "ERR_INVALID_SPEC");
    assert_eq!(code(&net(&store, "bad name", "10.9.0.0/24").unwrap_err()), "ERR_INVALID_SPEC");
    assert_eq!(code(&net(&store, "host", "10.9.0.0/24").unwrap_err()), "ERR_INVALID_SPEC");
    let a = Sandbox::new();
    let b = Sandbox::new();
    let opts = |ns: String, ip: Option<&str>, ports: &[&str], network: &str| AttachOptions {
        netns: ns,
        network: Some(network.into()),
        ip: ip.map(String::from),
        ports: ports.iter().map(|p| p.to_string()).collect(),
        ..Default::default()
    };
    let e = attach(&store, &opts(a.netns(), Some("10.9.9.9"), &[], "blue")).unwrap_err();
    assert_eq!(WireError::from(&e).op, "ip", "{e}");
    assert_eq!(code(&attach(&store, &opts(a.netns(), None, &[], "nope")).unwrap_err()), "ERR_NETWORK_NOT_FOUND");
    assert_eq!(code(&attach(&store, &opts(a.netns(), None, &["99999:80"], "blue")).unwrap_err()), "ERR_INVALID_SPEC");
    attach(&store, &opts(a.netns(), Some("10.201.0.9"), &["8080:80"], "blue")).unwrap();
    assert_eq!(code(&attach(&store, &opts(a.netns(), None, &[], "blue")).unwrap_err()), "EEXIST", "attached twice");
    assert_eq!(code(&attach(&store, &opts(b.netns(), Some("10.201.0.9"), &[], "blue")).unwrap_err()), "EADDRINUSE");
    assert_eq!(code(&attach(&store, &opts(b.netns(), None, &["8080:81"], "blue")).unwrap_err()), "EADDRINUSE");
    let _l = std::net::TcpListener::bind("0.0.0.0:9099").unwrap();
    assert_eq!(code(&attach(&store, &opts(b.netns(), None, &["9099:80"], "blue")).unwrap_err()), "EADDRINUSE", "host socket");
    assert_eq!(code(&remove(&store, "blue").unwrap_err()), "EBUSY");
    let own = format!("/proc/{}/ns/net", std::process::id());
    assert_eq!(code(&attach(&store, &opts(own, None, &[], "blue")).unwrap_err()), "EINVAL", "never the host's own netns");
    // Failed attaches left nothing behind: only a's veth is on the bridge.
    assert_eq!(sh("ip -o link | grep -c nsboxv").1.trim(), "1");
    assert_eq!(inspect(&store, "blue").unwrap().endpoints.len(), 1);
});
