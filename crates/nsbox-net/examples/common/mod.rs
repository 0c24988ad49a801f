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
