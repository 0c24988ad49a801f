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

/// A fresh state root (tmpfs /tmp of the mount namespace is not private, so use a unique dir),
/// removed with everything in it when the test drops it.
pub fn root() -> TempRoot {
    let p = std::env::temp_dir().join(format!("nsbox-net-test-{}-{}", std::process::id(), nsbox_net::sys::random_hex(6)));
    std::fs::create_dir_all(&p).unwrap();
    TempRoot(p)
}

pub struct TempRoot(PathBuf);

impl std::ops::Deref for TempRoot {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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

pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn sh(cmd: &str) -> (bool, String) {
    // System tools first: under `npm test`, node_modules/.bin holds an unrelated `nft`.
    let path = format!("/usr/sbin:/usr/bin:/sbin:/bin:{}", std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh").args(["-c", cmd]).env("PATH", path).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

impl Sandbox {
    /// Starts a long-running command inside the sandbox's netns (a server).
    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new("nsenter")
            .arg(format!("--net={}", self.netns()))
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
    /// A TCP server on `port` answering each connection with the peer's address; it is killed when
    /// the returned guard is dropped (a plain Child would outlive the test).
    pub fn echo_peer(&self, port: u16) -> Server {
        let c = self.spawn(&["socat", &format!("TCP-LISTEN:{port},reuseaddr,fork"), "SYSTEM:echo $SOCAT_PEERADDR"]);
        let t = Instant::now();
        while !self.exec(&["sh", "-c", &format!("grep -q ':{port:04X} ' /proc/net/tcp")]).0 {
            assert!(t.elapsed() < Duration::from_secs(5), "server on {port} never listened");
            std::thread::sleep(Duration::from_millis(10));
        }
        Server(c)
    }
    /// Connects to addr:port from inside; returns what the server said (trimmed) or None.
    pub fn tcp(&self, addr: &str, port: u16) -> Option<String> {
        let (ok, out) = self.exec(&["timeout", "5", "socat", "-T2", "-", &format!("TCP:{addr}:{port},connect-timeout=2")]);
        ok.then(|| out.trim().to_string())
    }
}

/// From the host (this process's netns).
pub fn host_tcp(addr: &str, port: u16) -> Option<String> {
    let (ok, out) = sh(&format!("timeout 5 socat -T2 - TCP:{addr}:{port},connect-timeout=2 </dev/null"));
    ok.then(|| out.trim().to_string())
}

/// "The outside world": a namespace joined to the host by a veth, host side 198.51.100.1/24, its
/// side 198.51.100.2/24, and no route to any container subnet.
pub fn outside() -> Sandbox {
    let o = Sandbox::new();
    let cmd = format!(
        "ip link add out0 type veth peer name eth0 netns {ns} && ip addr add 198.51.100.1/24 dev out0 && ip link set out0 up",
        ns = o.netns()
    );
    assert!(sh(&cmd).0);
    assert!(o.exec(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"]).0);
    assert!(o.exec(&["ip", "link", "set", "eth0", "up"]).0);
    assert!(o.exec(&["ip", "link", "set", "lo", "up"]).0);
    o
}

/// What must be back to its starting state after teardown.
pub fn snapshot(root: &std::path::Path) -> (String, String, Vec<String>) {
    let links = sh("ip -o link | sed 's/^[0-9]*: //; s/ link\\/.*//; s/<.*//'").1;
    let rules = sh("nft list ruleset").1;
    let mut leases: Vec<String> = std::fs::read_dir(root.join("run/leases"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| std::fs::read_to_string(e.path()).unwrap_or_default()).collect())
        .unwrap_or_default();
    leases.sort();
    (links, rules, leases)
}
