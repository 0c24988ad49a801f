//! Every test runs in a throwaway network + mount namespace that plays "the host": the test binary
//! re-executes itself for one test under `unshare --net --mount --propagation private`, so bridges,
//! veths, nft tables and sysctls die with that namespace and the machine's network is never touched.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const INNER: &str = "NSBOX_NET_TEST_INNER";

/// Returns true when the caller should run the test body (we are inside the throwaway namespace);
/// otherwise runs this same test inside one and asserts it passed.
pub fn in_throwaway_ns(test: &str) -> bool {
    if std::env::var_os(INNER).is_some() {
        let st = Command::new("ip").args(["link", "set", "lo", "up"]).status().expect("ip");
        assert!(st.success());
        return true;
    }
    if nix::unistd::geteuid().as_raw() != 0 {
        assert!(std::env::var_os("NSBOX_REQUIRE_PRIV").is_none(), "{test}: needs root (NSBOX_REQUIRE_PRIV is set)");
        eprintln!("{test}: skipped (needs root)");
        return false;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new("unshare")
        .args(["--net", "--mount", "--propagation", "private", "--"])
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .output()
        .expect("unshare");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "{test} inside the throwaway namespace:\n{text}");
    false
}

/// A fresh state root (tmpfs /tmp of the mount namespace is not private, so use a unique dir).
pub fn root() -> PathBuf {
    let p = std::env::temp_dir().join(format!("nsbox-net-test-{}-{}", std::process::id(), nsbox_net::sys::random_hex(6)));
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A "container": `sleep` in a new network namespace (unshare execs sleep, so the pid is the sleeper).
pub struct Sandbox {
    pub child: Child,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let child = Command::new("unshare").args(["--net", "--", "sleep", "600"]).stdin(Stdio::null()).spawn().unwrap();
        let own = std::fs::read_link("/proc/self/ns/net").unwrap();
        let path = format!("/proc/{}/ns/net", child.id());
        let t = Instant::now();
        while std::fs::read_link(&path).map(|l| l == own).unwrap_or(true) {
            assert!(t.elapsed() < Duration::from_secs(5), "sandbox never got its netns");
            std::thread::sleep(Duration::from_millis(2));
        }
        Sandbox { child }
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    pub fn netns(&self) -> String {
        format!("/proc/{}/ns/net", self.pid())
    }
    /// Runs a command inside the sandbox's netns and returns (success, stdout+stderr).
    pub fn exec(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new("nsenter").arg(format!("--net={}", self.netns())).arg("--").args(args).output().unwrap();
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn sh(cmd: &str) -> (bool, String) {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}
