//! Shared by the probe examples: a `sleep` alone in a new network namespace, as a stand-in container.

use std::process::{Child, Command, Stdio};

/// Starts the stand-in and waits until it is in its own netns; returns it and its netns path.
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
