//! Published ports as elements of the `ip nsbox` maps, added and deleted over a NETLINK_NETFILTER
//! socket instead of by spawning `nft` (12–16 ms per `nft -f -` here, against tens of microseconds
//! for the same batch over netlink). One batch per call (BATCH_BEGIN, one NEWSETELEM/DELSETELEM per map, BATCH_END) is one
//! kernel transaction: all of the lease's elements change or none does. No crate on crates.io fits:
//! `nftnl` links the C libnftnl, `rustables` is GPL-3.0 and runs bindgen; the few messages are built
//! here by hand (`message`).
//!
//! The socket is kept open between calls. Closing a NETLINK_NETFILTER socket makes nf_tables flush
//! its pending destroy work (NETLINK_URELEASE), and after a delete that work is waiting out an RCU
//! grace period before freeing the elements: a close right after a delete took ~15 ms here, the
//! delete itself ~10 µs (see examples/nft_elements.rs).

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};
use nix::errno::Errno;

use crate::nft::TABLE;
use crate::state::Lease;

mod message;
use message::{build, parse_replies, Batch, Reply};

const RECV_BUF: usize = 64 * 1024;

pub const MAP_ANY: &str = "ports_any";
pub const MAP_IP: &str = "ports_ip";

#[derive(Debug, thiserror::Error)]
pub enum ElementError {
    /// The kernel (or the socket layer) refused; `target` names the table and map.
    #[error("{op}({target}): {errno:?}: {message}")]
    Kernel { op: &'static str, target: String, errno: Errno, message: String },
    /// The replies did not match the batch (missing acks, unknown sequence numbers, garbage).
    #[error("{op}({target}): {detail}")]
    Reply { op: &'static str, target: String, detail: String },
}

impl ElementError {
    pub fn errno(&self) -> Option<Errno> {
        match self {
            ElementError::Kernel { errno, .. } => Some(*errno),
            ElementError::Reply { .. } => None,
        }
    }
    pub fn op(&self) -> &'static str {
        match self {
            ElementError::Kernel { op, .. } | ElementError::Reply { op, .. } => op,
        }
    }
    pub fn target(&self) -> &str {
        match self {
            ElementError::Kernel { target, .. } | ElementError::Reply { target, .. } => target,
        }
    }
}

fn target(map: Option<&str>) -> String {
    match map {
        Some(m) => format!("table ip {TABLE} map {m}"),
        None => format!("table ip {TABLE}"),
    }
}

/// Starting sequence numbers differ per call (and per process) so a late reply can never pass for
/// one of ours.
static SEQ: AtomicU32 = AtomicU32::new(0);

fn next_seq() -> u32 {
    let base = std::process::id().wrapping_mul(2654435761);
    base.wrapping_add(SEQ.fetch_add(16, Ordering::Relaxed))
}

fn io_error(op: &'static str, what: &str, e: std::io::Error) -> ElementError {
    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    ElementError::Kernel { op, target: target(None), errno, message: format!("{what}: {}", errno.desc()) }
}

/// A NETLINK_NETFILTER socket in the network namespace of the thread that opened it.
pub struct Elements {
    sock: Socket,
    buf: Vec<u8>,
}

impl Elements {
    pub fn open(op: &'static str) -> Result<Self, ElementError> {
        let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|e| io_error(op, "socket(NETLINK_NETFILTER)", e))?;
        sock.bind_auto().map_err(|e| io_error(op, "bind", e))?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(|e| io_error(op, "connect", e))?;
        // Best effort: short errors (only our header echoed) with the kernel's explanation, if any.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        Ok(Elements { sock, buf: Vec::with_capacity(RECV_BUF) })
    }

    /// Adds (or with `add == false` deletes) one lease's published ports in one transaction.
    pub fn update(&mut self, lease: &Lease, add: bool) -> Result<(), ElementError> {
        let op = op_name(add);
        if lease.ports.is_empty() {
            return Ok(());
        }
        let batch = build(lease, add, next_seq());
        let sent = self.sock.send(&batch.bytes, 0).map_err(|e| io_error(op, "send", e))?;
        if sent != batch.bytes.len() {
            let detail = format!("sent {sent} of {} bytes", batch.bytes.len());
            return Err(ElementError::Reply { op, target: target(None), detail });
        }
        // nfnetlink runs the whole batch inside sendmsg and queues every reply before it returns, so
        // what is not queued now never comes (nft reads its replies the same way).
        let mut replies = Vec::new();
        loop {
            self.buf.clear();
            match self.sock.recv(&mut self.buf, libc::MSG_DONTWAIT) {
                Ok(_) => replies.extend(
                    parse_replies(&self.buf).map_err(|detail| ElementError::Reply { op, target: target(None), detail })?,
                ),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(io_error(op, "receive", e)),
            }
        }
        check(op, &batch, &replies)
    }
}

fn op_name(add: bool) -> &'static str {
    if add {
        "add published ports"
    } else {
        "delete published ports"
    }
}

/// The network namespace of the calling thread, as (device, inode) of its nsfs file.
fn current_netns() -> std::io::Result<(u64, u64)> {
    let m = std::fs::metadata("/proc/thread-self/ns/net")?;
    Ok((m.dev(), m.ino()))
}

/// The kept socket, with the process and network namespace it belongs to: a forked child must not
/// share its parent's port id, and a thread in another namespace needs a socket of that namespace.
struct Kept {
    elements: Elements,
    pid: u32,
    netns: (u64, u64),
}

static KEPT: Mutex<Option<Kept>> = Mutex::new(None);

/// `Elements::update` in the calling thread's network namespace, on the kept socket (opened on first
/// use, replaced when the caller is in another namespace or process). Adding an element that exists
/// fails with EEXIST; deleting a missing one, or a missing table or map, ENOENT.
pub fn update(lease: &Lease, add: bool) -> Result<(), ElementError> {
    if lease.ports.is_empty() {
        return Ok(());
    }
    let op = op_name(add);
    let netns = current_netns().map_err(|e| io_error(op, "stat /proc/thread-self/ns/net", e))?;
    let pid = std::process::id();
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    let k = match kept.take() {
        Some(k) if k.pid == pid && k.netns == netns => k,
        _ => Kept { elements: Elements::open(op)?, pid, netns },
    };
    let k = kept.insert(k);
    let r = k.elements.update(lease, add);
    // Replies may still be queued after a failure: start the next call on a clean socket.
    if r.is_err() {
        *kept = None;
    }
    r
}

/// All or nothing: the first error the kernel reported (it aborted the transaction then), else an
/// ack for every element message.
fn check(op: &'static str, batch: &Batch, replies: &[Reply]) -> Result<(), ElementError> {
    let map_of = |seq: u32| batch.acked.iter().find(|(s, _)| *s == seq).map(|(_, m)| *m);
    for r in replies {
        if map_of(r.seq).is_none() && r.seq != batch.begin_seq {
            return Err(ElementError::Reply { op, target: target(None), detail: format!("reply for unknown sequence {}", r.seq) });
        }
    }
    if let Some(r) = replies.iter().find(|r| r.errno != 0) {
        let errno = Errno::from_raw(r.errno);
        let map = map_of(r.seq);
        let why = match errno {
            Errno::ENOENT if map.is_some() && !batch.add => "no such table, map or element",
            Errno::ENOENT => "no such table or map",
            Errno::EEXIST => "the element exists",
            _ => errno.desc(),
        };
        let message = match &r.message {
            Some(m) => format!("{why} ({m})"),
            None => why.to_string(),
        };
        return Err(ElementError::Kernel { op, target: target(map), errno, message });
    }
    let missing: Vec<&str> = batch.acked.iter().filter(|(s, _)| !replies.iter().any(|r| r.seq == *s)).map(|(_, m)| *m).collect();
    if !missing.is_empty() {
        return Err(ElementError::Reply { op, target: target(None), detail: format!("no ack for map(s) {}", missing.join(", ")) });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
