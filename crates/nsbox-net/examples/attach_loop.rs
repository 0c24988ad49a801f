//! Attach + detach of one stand-in container, RUNS times, in a throwaway net + mount namespace
//! (re-executes itself under `unshare`): a probe for where attach's time goes, under perf or strace.
//!
//! ```
//! cargo run --release -p nsbox-net --example attach_loop [RUNS]
//! ```
#[path = "common/mod.rs"]
mod common;

use std::process::Command;
use std::time::Instant;

use nsbox_net::{attach, detach, AttachOptions, CreateOptions, DetachOptions, Store};

fn inner(runs: usize) {
    assert!(Command::new("ip").args(["link", "set", "lo", "up"]).status().unwrap().success());
    let root = std::env::temp_dir().join(format!("nsbox-attach-loop-{}", std::process::id()));
    let store = Store::new(Some(&root));
    nsbox_net::create(&store, &CreateOptions { name: "probe".into(), subnet: Some("10.219.0.0/24".into()), ..Default::default() }).unwrap();
    let (mut child, path) = common::netns_child();
    let (mut a, mut d) = (vec![], vec![]);
    let idle = std::env::var("IDLE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0u64);
    for i in 0..runs + 2 {
        std::thread::sleep(std::time::Duration::from_millis(idle));
        let t = Instant::now();
        let ep = attach(&store, &AttachOptions { netns: path.clone(), network: Some("probe".into()), ..Default::default() }).unwrap();
        let ta = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        detach(&store, &DetachOptions { endpoint: Some(ep.id), ..Default::default() }).unwrap();
        let td = t.elapsed().as_secs_f64() * 1e3;
        nsbox_net::teardown::settle();
        if i >= 2 {
            a.push(ta);
            d.push(td);
        }
    }
    let _ = child.kill();
    let _ = nsbox_net::remove(&store, "probe");
    let _ = std::fs::remove_dir_all(&root);
    a.sort_by(f64::total_cmp);
    d.sort_by(f64::total_cmp);
    println!("attach median {:.2} ms (min {:.2}), detach median {:.2} ms (min {:.2})", a[a.len() / 2], a[0], d[d.len() / 2], d[0]);
}

fn main() {
    common::in_throwaway_netns(50, inner);
}
