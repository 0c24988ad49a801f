//! How long attach's peer rewrite takes (docs/networking.md, "Peers come and go"): N leases with
//! a hosts file each under DIR, `peers::refresh` over all of them, medians of 20 rounds.
//! `cargo run --release -p nsbox-net --example peers_rewrite -- DIR [N]` (DIR is created and removed).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Instant;

use nsbox_net::peers;
use nsbox_net::state::Lease;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: peers_rewrite DIR [N]"));
    let n: usize = args.next().map(|s| s.parse().expect("N")).unwrap_or(20);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let leases: Vec<Lease> = (0..n)
        .map(|i| {
            let hosts = dir.join(format!("hosts{i}"));
            std::fs::write(&hosts, "placeholder\n").expect("write");
            Lease { container: Some(format!("c{i}")), hosts_path: Some(hosts), ..Lease::placeholder(format!("{i:012x}"), Ipv4Addr::new(10, 0, (i >> 8) as u8, i as u8 + 2)) }
        })
        .collect();
    let mut times = Vec::new();
    for round in 0..20 {
        // Alternately all of them and all but the last: the files grow and shrink.
        let set = if round % 2 == 0 { &leases[..] } else { &leases[..n - 1] };
        let t = Instant::now();
        let errs = peers::refresh("bench", set, None);
        times.push(t.elapsed().as_micros());
        assert!(errs.is_empty(), "{errs:?}");
    }
    times.sort();
    println!("{n} peers: median {} µs per refresh ({:.1} µs per peer)", times[10], times[10] as f64 / n as f64);
    std::fs::remove_dir_all(&dir).expect("rm");
}
