//! Rootless networking: a user-mode network helper (`pasta`, else `slirp4netns`) gives a rootless
//! container's network namespace a tap device and forwards its traffic through ordinary sockets of
//! the user. Nothing here needs privilege or enters a namespace: the helper itself joins the
//! container's user and network namespaces (it is a separate process, so Node's threads never do).
//!
//! The helper must live exactly as long as the container. Neither helper notices by itself when a
//! namespace given by PID loses its last process (pasta 2023-03 only watches a netns *file*), so a
//! keeper of ours (`nsbox-runtime net-helper CONFIG`, [`keeper::run`]) sits between them:
//! - it spawns the helper with `PR_SET_PDEATHSIG=SIGKILL`, so whatever kills the keeper (even
//!   SIGKILL) kills the helper;
//! - it watches the container's first process through a pidfd: when that exits, the keeper stops
//!   the helper, deletes the helper's files and exits;
//! - when the helper dies first, the keeper records it in the status file (`ps` and `inspect` show it)
//!   and keeps waiting for the container.
//!
//! The caller (TS, `ts/src/network/rootless/`) reads one JSON line from the keeper's stdout: ready
//! (with the helper's pid) or the error.

pub mod bridge;
mod handover;
pub mod holder;
pub mod inside;
pub mod keeper;
mod premade;
mod slirp;
mod spawn;
mod udp;
mod watch;

use std::path::PathBuf;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

/// Which helper the keeper runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HelperKind {
    Pasta,
    Slirp4netns,
}

/// A published port, as the keeper hands it to the helper.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    pub host_ip: Option<String>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

/// The keeper's configuration (one JSON argument), built by the TS library.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeeperConfig {
    pub kind: HelperKind,
    /// The helper's executable (an absolute path the caller has looked up).
    pub helper: PathBuf,
    /// The container's first process (host pid): its namespaces are the helper's target. With
    /// `socket`, the runtime hands it over (its pidfd and namespaces) instead.
    #[serde(default)]
    pub pid: i32,
    /// Where the runtime hands over the container's pidfd, user and network namespaces
    /// (handover.rs; the runtime's `org.nsbox.net-helper-socket`): the helper then targets those
    /// descriptors (as fds [`NS_USER_FD`] and [`NS_NET_FD`]), not /proc/PID/ns/*.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// Directory for the helper's pid file, log, api socket and the status file (owner-only).
    pub dir: PathBuf,
    /// Make the host's loopback reachable through the gateway address (off by default).
    #[serde(default)]
    pub host_loopback: bool,
    #[serde(default)]
    pub ports: Vec<Port>,
    /// With `socket`: make the container's user and network namespaces here, before the runtime,
    /// and start the helper on them at once; the runtime receives them (premade.rs; its
    /// `org.nsbox.net-helper-namespaces: receive`).
    #[serde(default)]
    pub make_namespaces: bool,
    /// Also removed when the container exits (the container's /etc files).
    #[serde(default)]
    pub cleanup: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum RootlessError {
    #[error("{op}({}): {}: {}", path.display(), nsbox_core::error::errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: PathBuf, errno: Errno },
    /// The helper exited or failed before it was ready; `log` is the end of what it printed.
    #[error("{op}({}): ERR_NETWORK_HELPER: {detail}", path.display())]
    Helper { op: &'static str, path: PathBuf, detail: String },
    #[error("{op}: ERR_INVALID_SPEC: {detail}")]
    Config { op: &'static str, detail: String },
}

impl RootlessError {
    pub fn code(&self) -> String {
        match self {
            RootlessError::Sys { errno, .. } => nsbox_core::error::errno_name(*errno).to_string(),
            RootlessError::Helper { .. } => "ERR_NETWORK_HELPER".into(),
            RootlessError::Config { .. } => "ERR_INVALID_SPEC".into(),
        }
    }
}

pub(crate) fn sys(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(Errno) -> RootlessError {
    let path = path.into();
    move |errno| RootlessError::Sys { op, path, errno }
}

pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RootlessError {
    let path = path.into();
    move |e| RootlessError::Sys { op, path, errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
}

/// The helper's command line (without the target, which [`keeper`] appends).
pub fn helper_args(c: &KeeperConfig) -> Vec<String> {
    match c.kind {
        HelperKind::Pasta => {
            // As podman 4/5: configure the namespace's interface, addresses and routes from the
            // host's; forward DNS sent to 169.254.1.1 to the host's resolver; no port forwarding from
            // the namespace to the host (-T/-U auto would expose the host's loopback listeners).
            let mut a: Vec<String> = ["-f", "-q", "--config-net", "--dns-forward", PASTA_DNS, "-T", "none", "-U", "none"].map(String::from).to_vec();
            if !c.host_loopback {
                a.push("--no-map-gw".into());
            }
            a.push("-P".into());
            a.push(c.dir.join("helper.pid").display().to_string());
            for proto in ["tcp", "udp"] {
                let specs: Vec<String> = c.ports.iter().filter(|p| p.protocol == proto).map(|p| match &p.host_ip {
                    Some(ip) => format!("{ip}/{}:{}", p.host_port, p.container_port),
                    None => format!("{}:{}", p.host_port, p.container_port),
                }).collect();
                a.push(if proto == "tcp" { "-t" } else { "-u" }.into());
                a.push(if specs.is_empty() { "none".into() } else { specs.join(",") });
            }
            match c.socket {
                // --no-netns-quit: pasta would watch the netns path's directory (here /proc/self/fd)
                // for its deletion; the keeper ends it when the container goes.
                Some(_) => a.extend([format!("--userns=/proc/self/fd/{NS_USER_FD}"), format!("--netns=/proc/self/fd/{NS_NET_FD}"), "--no-netns-quit".into()]),
                None => a.push(c.pid.to_string()),
            }
            a
        }
        HelperKind::Slirp4netns => {
            let mut a: Vec<String> = vec!["--configure".into(), "--mtu=65520".into(), "--ready-fd=3".into(), "--exit-fd=4".into()];
            if !c.host_loopback {
                a.push("--disable-host-loopback".into());
            }
            a.push(format!("--api-socket={}", c.dir.join("api.sock").display()));
            match c.socket {
                Some(_) => a.extend(["--netns-type=path".to_string(), format!("--userns-path=/proc/self/fd/{NS_USER_FD}"), format!("/proc/self/fd/{NS_NET_FD}")]),
                None => a.extend([format!("--userns-path=/proc/{}/ns/user", c.pid), c.pid.to_string()]),
            }
            a.push("tap0".into());
            a
        }
    }
}

/// Where the helper finds the handed-over namespaces (after slirp4netns's ready and exit fds, 3 and 4).
pub const NS_USER_FD: i32 = 5;
pub const NS_NET_FD: i32 = 6;

/// The address pasta forwards DNS queries from (podman's choice too).
pub const PASTA_DNS: &str = "169.254.1.1";
/// slirp4netns's built-in DNS forwarder.
pub const SLIRP_DNS: &str = "10.0.2.3";

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kind: HelperKind, ports: Vec<Port>) -> KeeperConfig {
        KeeperConfig { kind, helper: "/usr/bin/pasta".into(), pid: 42, socket: None, make_namespaces: false, dir: "/d".into(), host_loopback: false, ports, cleanup: vec![] }
    }

    #[test]
    fn pasta_args_publish_and_hide_the_host_loopback() {
        let p = |ip: Option<&str>, h, c, proto: &str| Port { host_ip: ip.map(String::from), host_port: h, container_port: c, protocol: proto.into() };
        let a = helper_args(&cfg(HelperKind::Pasta, vec![p(None, 8080, 80, "tcp"), p(Some("127.0.0.1"), 53, 5353, "udp")])).join(" ");
        assert_eq!(a, "-f -q --config-net --dns-forward 169.254.1.1 -T none -U none --no-map-gw -P /d/helper.pid -t 8080:80 -u 127.0.0.1/53:5353 42");
        let mut c = cfg(HelperKind::Pasta, vec![]);
        c.host_loopback = true;
        assert!(!helper_args(&c).contains(&"--no-map-gw".to_string()));
        assert!(helper_args(&c).join(" ").contains("-t none -u none"));
    }

    #[test]
    fn slirp_args_target_the_containers_namespaces() {
        let a = helper_args(&cfg(HelperKind::Slirp4netns, vec![])).join(" ");
        assert_eq!(a, "--configure --mtu=65520 --ready-fd=3 --exit-fd=4 --disable-host-loopback --api-socket=/d/api.sock --userns-path=/proc/42/ns/user 42 tap0");
    }

    #[test]
    fn handed_over_namespaces_are_targeted_by_descriptor() {
        let mut c = cfg(HelperKind::Slirp4netns, vec![]);
        c.socket = Some("/d/k.sock".into());
        assert!(helper_args(&c).join(" ").ends_with("--netns-type=path --userns-path=/proc/self/fd/5 /proc/self/fd/6 tap0"));
        c.kind = HelperKind::Pasta;
        assert!(helper_args(&c).join(" ").ends_with("--userns=/proc/self/fd/5 --netns=/proc/self/fd/6 --no-netns-quit"));
    }
}
