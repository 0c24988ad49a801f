//! What a rootless container's network namespace holds, as read from inside it: the helper's tap
//! device (name, ifindex, MAC, MTU, addresses) and the routes the helper configured. `inspect` and
//! the TUI's Network tab show it.
//!
//! Reading another namespace's links needs a netlink socket opened inside it, and a rootless
//! container's netns is owned by its user namespace: the caller has CAP_SYS_ADMIN only there, so
//! it must join that user namespace first. setns(CLONE_NEWUSER) is refused to a multithreaded
//! process, so this runs as its own process (`nsbox-runtime net-inside PID`), never in Node's.
//! It only reads, and exits after printing one JSON line.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};
use serde::Serialize;
use serde_json::json;

use crate::link::{self, Address, Link, Route};
use crate::netlink::{Netlink, NetlinkError};

#[derive(Debug, thiserror::Error)]
pub enum InsideError {
    #[error("{op}({}): {}: {}", path.display(), nsbox_core::error::errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: PathBuf, errno: Errno },
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

impl InsideError {
    fn code(&self) -> String {
        match self {
            InsideError::Sys { errno, .. } => nsbox_core::error::errno_name(*errno).to_string(),
            InsideError::Netlink(_) => "ERR_NETLINK".into(),
        }
    }
}

/// One interface of the container's namespace, with its addresses.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    #[serde(flatten)]
    pub link: Link,
    /// "ADDR/PREFIX", IPv4 first.
    pub addresses: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Inside {
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
}

fn open(path: String) -> Result<File, InsideError> {
    File::open(&path).map_err(|e| InsideError::Sys { op: "open namespace", path: path.into(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) })
}

/// Joins `pid`'s user namespace (when it is not ours already) and network namespace, then lists.
/// Only for a single-threaded process that has nothing else to do afterwards.
pub fn read(pid: i32) -> Result<Inside, InsideError> {
    let user_path = format!("/proc/{pid}/ns/user");
    let user = open(user_path.clone())?;
    let net = open(format!("/proc/{pid}/ns/net"))?;
    let same = |a: &File, p: &str| -> bool { std::fs::metadata(p).map(|m| a.metadata().map(|n| n.ino() == m.ino()).unwrap_or(false)).unwrap_or(false) };
    // Joining the user namespace we are already in is EINVAL; as root the container may share ours.
    if !same(&user, "/proc/self/ns/user") {
        setns(user.as_fd(), CloneFlags::CLONE_NEWUSER).map_err(|errno| InsideError::Sys { op: "setns user", path: user_path.into(), errno })?;
    }
    setns(net.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|errno| InsideError::Sys { op: "setns net", path: format!("/proc/{pid}/ns/net").into(), errno })?;
    let mut nl = Netlink::open()?;
    let links = link::list_links(&mut nl)?;
    let addrs = link::list_addresses(&mut nl)?;
    let routes = link::list_routes(&mut nl)?.into_iter().filter(|r| r.table == 254).collect();
    Ok(Inside { interfaces: links.into_iter().map(|l| with_addresses(l, &addrs)).collect(), routes })
}

fn with_addresses(link: Link, addrs: &[Address]) -> Interface {
    let mut mine: Vec<&Address> = addrs.iter().filter(|a| a.index == link.index).collect();
    mine.sort_by_key(|a| !a.address.is_ipv4());
    Interface { addresses: mine.iter().map(|a| format!("{}/{}", a.address, a.prefix_len)).collect(), link }
}

/// `nsbox-runtime net-inside PID`: one JSON line, the listing or `{ error: { code, message } }`.
pub fn run(pid_arg: &str) -> i32 {
    let out = match pid_arg.parse::<i32>() {
        Ok(pid) if pid > 0 => read(pid).map_err(|e| json!({ "code": e.code(), "message": e.to_string() })),
        _ => Err(json!({ "code": "ERR_INVALID_SPEC", "message": format!("net-inside: ERR_INVALID_SPEC: not a pid: {pid_arg:?}") })),
    };
    match out {
        Ok(v) => {
            println!("{}", serde_json::to_string(&v).unwrap_or_else(|_| "{}".into()));
            0
        }
        Err(e) => {
            println!("{}", json!({ "error": e }));
            125
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_join_their_link_ipv4_first() {
        let l = Link { index: 2, name: "h0".into(), kind: None, mac: Some("02:00:00:00:00:01".into()), mtu: Some(65520), up: true, master: None, peer: None };
        let a = |ip: &str, i| Address { index: i, address: ip.parse().unwrap(), prefix_len: 24 };
        let i = with_addresses(l, &[a("fe80::1", 2), a("192.0.2.1", 2), a("10.0.0.1", 3)]);
        assert_eq!(i.addresses, vec!["192.0.2.1/24", "fe80::1/24"]);
        let v = serde_json::to_value(&i).unwrap();
        assert_eq!(v["name"], "h0");
        assert_eq!(v["index"], 2);
    }

    #[test]
    fn a_bad_pid_is_refused() {
        assert_eq!(run("x"), 125);
    }
}
