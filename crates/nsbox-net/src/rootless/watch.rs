//! `nsbox-runtime rootless-net watch CONFIG`: a container on a rootless user-defined network is
//! watched by this process from its attach until it ends (its starter may be long gone: `run -d`):
//! - **published ports** (`-p`, TCP and UDP): the listening sockets are bound first, in the host's network
//!   namespace (as the user: the host's addresses and loopback); then the process joins the holder's
//!   namespaces, so every connection it makes to the container's address starts inside, where the
//!   bridge is; each accepted connection is copied both ways by two threads (podman's rootlessport
//!   does the same; pasta cannot add ports to a running instance); a UDP port gets a thread that
//!   keeps a flow (a socket inside, connected to the container) per client (udp.rs);
//! - when the container's first process exits (a pidfd), it removes the container's network files
//!   (`cleanup`) and detaches the lease (bridge.rs's detach, under the lock).
//!
//! It answers one line once it listens and watches (or the error: a port taken is EADDRINUSE).

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};

use nix::errno::Errno;
use nsbox_core::error::WireError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::bridge::{dispatch, enter, errno_of, fail, find_holder, lock, OpConfig};
use super::keeper::{pidfd_open, quiet_stdio};
use super::udp;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Publish {
    host_ip: Option<String>,
    host_port: u16,
    container_port: u16,
    #[serde(default)]
    protocol: Option<String>,
}

pub(super) fn watch(c: &OpConfig) -> Result<Value, WireError> {
    let pid = c.args.get("pid").and_then(Value::as_i64).ok_or_else(|| WireError::invalid_spec("pid", "missing"))? as i32;
    let ports: Vec<Publish> = serde_json::from_value(c.args.get("ports").cloned().unwrap_or(json!([]))).map_err(|e| WireError::invalid_spec("ports", e.to_string()))?;
    let fd = pidfd_open(pid).map_err(|e| fail(&e.code(), "watch container", Some(format!("/proc/{pid}")), e.to_string()))?;
    let mut listeners = Vec::new();
    let mut udp_sockets = Vec::new();
    if !ports.is_empty() {
        let ip: Ipv4Addr = c.args.get("ip").and_then(Value::as_str).and_then(|s| s.parse().ok()).ok_or_else(|| WireError::invalid_spec("ip", "the container's address is needed to publish ports"))?;
        for p in &ports {
            let udp = match p.protocol.as_deref() {
                None | Some("tcp") => false,
                Some("udp") => true,
                Some(other) => return Err(WireError::invalid_spec("ports", format!("{}:{}/{other}: only tcp and udp ports are published", p.host_port, p.container_port))),
            };
            let host: IpAddr = match &p.host_ip {
                Some(h) => h.parse().map_err(|_| WireError::invalid_spec("ports", format!("{h:?} is not an IP address")))?,
                None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            };
            let at = SocketAddr::new(host, p.host_port);
            let to = SocketAddr::new(IpAddr::V4(ip), p.container_port);
            let taken = |e: std::io::Error, what: &str| {
                let errno = errno_of(&e);
                let (path, proto) = if udp { (format!("{at}/udp"), "/udp") } else { (at.to_string(), "") };
                let hint = if errno == Errno::EACCES { privileged_port_hint(p.host_port) } else { String::new() };
                WireError::from_errno("publish port", Some(path), errno, format!("cannot {what} {at}{proto} for {to}{proto}: {}{hint}", errno.desc()))
            };
            if udp {
                udp_sockets.push((UdpSocket::bind(at).map_err(|e| taken(e, "bind"))?, to));
            } else {
                listeners.push((TcpListener::bind(at).map_err(|e| taken(e, "listen on"))?, to));
            }
        }
        // From here on, sockets this process makes are inside the holder's network namespace.
        let run_dir = c.root.join("run");
        let guard = lock(&run_dir.join("netns.lock"))?;
        let h = find_holder(&c.root).ok_or_else(|| fail("ESRCH", "publish port", None, "the rootless network holder is gone".into()))?;
        enter(&h)?;
        drop(guard);
    }
    println!("{}", json!({ "ok": true, "value": { "watching": pid } }));
    let _ = std::io::stdout().flush();
    quiet_stdio();
    for (l, to) in listeners {
        std::thread::spawn(move || forward(l, to));
    }
    // Threads made after enter() are in the holder's network namespace: their flows' sockets too.
    if !udp_sockets.is_empty() {
        udp::raise_fd_limit();
    }
    for (s, to) in udp_sockets {
        std::thread::spawn(move || udp::relay(s, to));
    }
    loop {
        let mut fds = [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&fd), nix::poll::PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            _ => break,
        }
    }
    for dir in c.args.get("cleanup").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        let _ = fs::remove_dir_all(dir);
    }
    let args = json!({ "endpoint": c.args.get("endpoint"), "network": c.args.get("network") });
    let _ = dispatch("detach", &OpConfig { root: c.root.clone(), kind: None, helper: None, args });
    // Already answered: nothing more goes to stdout.
    std::process::exit(0)
}

/// Why a user may not bind a low port, and what to do (EACCES alone does not say).
fn privileged_port_hint(port: u16) -> String {
    const KNOB: &str = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
    match fs::read_to_string(KNOB).ok().and_then(|s| s.trim().parse::<u32>().ok()) {
        Some(start) if u32::from(port) < start => format!(
            " (ports below {start}, net.ipv4.ip_unprivileged_port_start, are root's: publish a host port of {start} or more, or as root: sysctl -w net.ipv4.ip_unprivileged_port_start={port})"
        ),
        _ => String::new(),
    }
}

/// Accepts on the host's side and connects to the container from inside, forever (until exit).
fn forward(l: TcpListener, to: SocketAddr) {
    for conn in l.incoming() {
        let Ok(outside) = conn else { continue };
        std::thread::spawn(move || {
            let Ok(inside) = TcpStream::connect(to) else { return };
            let (Ok(mut o2), Ok(mut i2)) = (outside.try_clone(), inside.try_clone()) else { return };
            let up = std::thread::spawn(move || {
                let _ = std::io::copy(&mut o2, &mut i2);
                let _ = i2.shutdown(Shutdown::Write);
            });
            let (mut o, mut i) = (outside, inside);
            let _ = std::io::copy(&mut i, &mut o);
            let _ = o.shutdown(Shutdown::Write);
            let _ = up.join();
        });
    }
}
