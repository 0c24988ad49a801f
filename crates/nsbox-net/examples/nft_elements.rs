//! Published ports over nf_tables netlink, checked and timed against `nft` in a throwaway network +
//! mount namespace (this program re-executes itself under `unshare`): the maps must list exactly what
//! `nft add element` produced; errors keep the kernel's errno; then add and delete are timed by phase
//! (open the socket, batch + acks, close it), on a fresh socket per call, on one kept socket and
//! through `nft_elements::update` (which keeps one), with the `nft -f -` spawn they replace alongside.
//!
//! ```
//! cargo run --release -p nsbox-net --example nft_elements [RUNS]
//! ```

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::errno::Errno;
use nsbox_net::nft_elements::{self, Elements};
use nsbox_net::state::{Lease, PortMap, Protocol};

const NFT: &str = "/usr/sbin/nft";

fn nft(input: &str) {
    let mut c = Command::new(NFT).args(["-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success(), "nft failed on:\n{input}");
}

fn list_maps() -> String {
    let out = Command::new(NFT).args(["list", "table", "ip", "nsbox"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

const TABLE: &str = "table ip nsbox {
  map ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
  map ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
}\n";

fn lease(n: u16) -> Lease {
    let p = |host_ip: Option<Ipv4Addr>, protocol, host_port, container_port| PortMap { host_ip, host_port, container_port, protocol };
    let ports = vec![
        p(None, Protocol::Tcp, 8000 + n, 80),
        p(None, Protocol::Udp, 8000 + n, 53),
        p(Some(Ipv4Addr::new(127, 0, 0, 1)), Protocol::Tcp, 9000 + n, 443),
    ];
    Lease { mac: "02:42:0a:58:00:02".into(), host_veth: "nsboxvprobe".into(), ports, ..Lease::placeholder(format!("{n:012x}"), Ipv4Addr::new(10, 88, (n >> 8) as u8, n as u8)) }
}

fn text_elements(l: &Lease, add: bool) -> String {
    let mut out = String::new();
    for p in &l.ports {
        let (map, key) = match p.host_ip {
            Some(ip) => ("ports_ip", format!("{ip} . {} . {}", p.protocol.as_str(), p.host_port)),
            None => ("ports_any", format!("{} . {}", p.protocol.as_str(), p.host_port)),
        };
        out += &if add {
            format!("add element ip nsbox {map} {{ {key} : {} . {} }}\n", l.ip, p.container_port)
        } else {
            format!("delete element ip nsbox {map} {{ {key} }}\n")
        };
    }
    out
}

fn check_against_nft() {
    nft(TABLE);
    let empty = list_maps();
    let leases: Vec<Lease> = (1..4).map(lease).collect();
    for l in &leases {
        nft(&text_elements(l, true));
    }
    let by_text = list_maps();
    nft("flush map ip nsbox ports_any\nflush map ip nsbox ports_ip\n");
    for l in &leases {
        nft_elements::update(l, true).unwrap();
    }
    assert_eq!(list_maps(), by_text, "netlink and nft text disagree");
    println!("same maps as `nft add element`:\n{by_text}");

    let e = nft_elements::update(&leases[0], true).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST), "{e}");
    println!("add twice:        {e}");
    assert_eq!(list_maps(), by_text, "a failed batch changed the maps");
    for l in &leases {
        nft_elements::update(l, false).unwrap();
    }
    assert_eq!(list_maps(), empty, "delete left elements behind");
    let e = nft_elements::update(&leases[0], false).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ENOENT), "{e}");
    println!("delete twice:     {e}");
    // All or nothing: one element exists, so adding the lease must add none of the others.
    nft(&text_elements(&Lease { ports: leases[1].ports[2..].to_vec(), ..leases[1].clone() }, true));
    let one = list_maps();
    assert!(nft_elements::update(&leases[1], true).is_err());
    assert_eq!(list_maps(), one, "a failed batch was applied in part");
    nft("delete table ip nsbox\n");
    let e = nft_elements::update(&leases[0], true).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ENOENT), "{e}");
    println!("no table:         {e}\n");
}

fn us(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e6
}

fn timings(runs: usize) {
    nft(TABLE);
    let l = lease(7);
    let [mut open, mut add, mut close_add, mut del, mut close_del, mut kept_add, mut kept_del, mut text_add, mut text_del, mut api_add, mut api_del] =
        std::array::from_fn::<Vec<f64>, 11, _>(|_| Vec::new());
    let mut kept = Elements::open("probe").unwrap();
    for _ in 0..runs {
        for (add_it, batch, close) in [(true, &mut add, &mut close_add), (false, &mut del, &mut close_del)] {
            let t = Instant::now();
            let mut s = Elements::open("probe").unwrap();
            open.push(us(t));
            let t = Instant::now();
            s.update(&l, add_it).unwrap();
            batch.push(us(t));
            let t = Instant::now();
            drop(s);
            close.push(us(t));
        }
        let t = Instant::now();
        kept.update(&l, true).unwrap();
        kept_add.push(us(t));
        let t = Instant::now();
        kept.update(&l, false).unwrap();
        kept_del.push(us(t));
        let t = Instant::now();
        nft_elements::update(&l, true).unwrap();
        api_add.push(us(t));
        let t = Instant::now();
        nft_elements::update(&l, false).unwrap();
        api_del.push(us(t));
        let t = Instant::now();
        nft(&text_elements(&l, true));
        text_add.push(us(t));
        let t = Instant::now();
        nft(&text_elements(&l, false));
        text_del.push(us(t));
    }
    println!("medians over {runs} runs, 3 ports (2 maps), µs:");
    println!("  open socket                 {:8.1}", common::median(open));
    println!("  add: batch + acks           {:8.1}   close {:6.1}", common::median(add), common::median(close_add));
    println!("  delete: batch + acks        {:8.1}   close {:6.1}", common::median(del), common::median(close_del));
    println!("  kept socket: add            {:8.1}   delete {:6.1}", common::median(kept_add), common::median(kept_del));
    println!("  nft_elements::update: add   {:8.1}   delete {:6.1}", common::median(api_add), common::median(api_del));
    println!("  nft -f - (spawn): add       {:8.1}   delete {:6.1}", common::median(text_add), common::median(text_del));
    nft("delete table ip nsbox\n");
}

fn main() {
    common::in_throwaway_netns(200, probe);
}

fn probe(runs: usize) {
    check_against_nft();
    timings(runs);
}
