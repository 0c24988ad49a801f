//! Shared by the probe examples: a `sleep` alone in a new network namespace, as a stand-in container.

use std::process::{Child, Command, Stdio};

/// Starts the stand-in and waits until it is in its own netns; returns it and its netns path.
#[allow(dead_code)] // not every probe needs it
pub fn netns_child() -> (Child, String) {
    let child = Command::new("unshare").args(["--net", "--", "sleep", "600"]).stdin(Stdio::null()).spawn().unwrap();
    let path = format!("/proc/{}/ns/net", child.id());
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    while std::fs::read_link(&path).map(|l| l == own).unwrap_or(true) {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    (child, path)
}

/// A netlink socket inside `netns`, opened by nsbox-net's worker thread (as attach opens its own).
#[allow(dead_code)] // not every probe needs it
pub fn netlink_in(netns: std::os::fd::BorrowedFd<'_>, path: &str) -> nsbox_net::netlink::Netlink {
    let fd = netns.try_clone_to_owned().unwrap();
    let path = path.to_string();
    nsbox_net::worker::run(move |v| v.netlink_in(std::os::fd::AsFd::as_fd(&fd), &path)).unwrap().unwrap()
}

/// Runs `probe(runs)` inside a throwaway network + mount namespace, never the machine's own network:
/// the program re-executes itself under `unshare` and exits with the inner run's status. RUNS is the
/// first argument (else `default_runs`).
#[allow(dead_code)] // not every probe needs it
pub fn in_throwaway_netns(default_runs: usize, probe: fn(usize)) {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(default_runs);
    if std::env::var_os("NSBOX_PROBE_INSIDE").is_some() {
        return probe(runs);
    }
    let st = Command::new("unshare")
        .args(["--net", "--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().unwrap())
        .arg(runs.to_string())
        .env("NSBOX_PROBE_INSIDE", "1")
        .status()
        .unwrap();
    std::process::exit(st.code().unwrap_or(1));
}

/// The median of some timings (the upper one of the middle two for an even count).
#[allow(dead_code)] // not every probe needs it
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What the veth probes start from, inside their throwaway namespace: lo up, a stand-in container,
/// a host-side socket and a bridge `br-probe`.
#[allow(dead_code)] // not every probe needs it
pub struct Bed {
    pub child: Child,
    pub path: String,
    pub nl: nsbox_net::netlink::Netlink,
    pub bridge: u32,
    pub netns: std::os::fd::OwnedFd,
}

#[allow(dead_code)] // not every probe needs it
pub fn bed() -> Bed {
    assert!(Command::new("ip").args(["link", "set", "lo", "up"]).status().unwrap().success());
    let (child, path) = netns_child();
    let mut nl = nsbox_net::netlink::Netlink::open().unwrap();
    let bridge = nsbox_net::link::create_bridge(&mut nl, "br-probe", [2, 0, 0, 0, 0, 1], 1500).unwrap();
    let netns = nsbox_net::sys::open_netns(&path).unwrap();
    Bed { child, path, nl, bridge, netns }
}
