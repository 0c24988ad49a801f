//! Deleting an endpoint's veth without waiting for the kernel to free it.
//!
//! `RTM_DELLINK` of a veth does its work under the RTNL lock in well under a millisecond: both ends
//! are unlisted (their names free for reuse), the host end leaves the bridge, the addresses and
//! routes of both go, and the kernel multicasts `RTM_DELLINK` to `RTNLGRP_LINK`. Then, in the same
//! syscall, `netdev_run_todo()` calls `rcu_barrier()` (wait for every pending RCU callback, i.e. a
//! full normal grace period: ~15–20 ms here with HZ=250) and waits for the last references so it can
//! free the `net_device`s, and only then acks the request. Nothing can be observed of the links in
//! that second phase, and it cannot fail.
//!
//! So [`delete_link`] sends the request from a helper thread (host namespace; it never changes
//! namespace) and returns as soon as the kernel's own `RTM_DELLINK` notification for the link
//! arrives, leaving the helper blocked in the kernel until the memory is freed. If the request
//! fails, or the notification is lost (ENOBUFS), it waits for the ack as before. [`settle`] joins
//! the helpers (the addon calls it when its Node environment exits; the kernel also never lets a
//! process finish exiting while one of its threads is inside that uninterruptible wait, so the
//! deletion completes even after SIGKILL).

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::thread::JoinHandle;

use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::RouteNetlinkMessage as Rt;
use nix::errno::Errno;

use crate::link;
use crate::netlink::{Netlink, NetlinkError, Result};

type Helper = JoinHandle<Result<()>>;

/// Helpers still inside the kernel, and failures of finished ones not reported yet.
static PENDING: Mutex<(Vec<Helper>, Vec<NetlinkError>)> = Mutex::new((Vec::new(), Vec::new()));

fn io(op: &str, target: &str, e: std::io::Error) -> NetlinkError {
    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    NetlinkError::Kernel { op: op.into(), target: target.into(), errno, message: errno.desc().into() }
}

fn is_dellink_of(m: &Rt, name: &str) -> bool {
    matches!(m, Rt::DelLink(l) if l.attributes.iter().any(|a| matches!(a, LinkAttribute::IfName(n) if n == name)))
}

/// Deletes the link `name` (in the caller's namespace) and returns once the kernel has unregistered
/// it: gone from every listing, off its bridge, its name free. Errors are the request's (ENODEV when
/// there is no such link).
pub fn delete_link(name: &str) -> Result<()> {
    // Subscribed before the request is sent, so its notification cannot be missed.
    let mut events = Netlink::open_subscribed(&[libc::RTNLGRP_LINK])?;
    let (mut wake_rx, wake_tx) = UnixStream::pair().map_err(|e| io("socketpair", name, e))?;
    let target = name.to_string();
    let helper = std::thread::Builder::new()
        .name("nsbox-dellink".into())
        .spawn(move || {
            let r = Netlink::open().and_then(|mut nl| link::delete_link(&mut nl, &target));
            // The receiver may be gone (we returned at the notification): nothing to tell then.
            let _ = (&wake_tx).write_all(&[1]);
            r
        })
        .map_err(|e| io("spawn delete thread", name, e))?;
    let mut notified_lost = false;
    loop {
        let mut fds = [
            libc::pollfd { fd: events.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: wake_rx.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        let watched = if notified_lost { &mut fds[1..] } else { &mut fds[..] };
        // SAFETY: `watched` is a live, correctly sized array of pollfd for the duration of the call;
        // both fds are owned by this function and open.
        let r = unsafe { libc::poll(watched.as_mut_ptr(), watched.len() as libc::nfds_t, -1) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // Cannot wait for the notification: fall back to the ack.
            notified_lost = true;
            continue;
        }
        if watched.iter().any(|p| p.fd == wake_rx.as_raw_fd() && p.revents != 0) {
            let _ = wake_rx.read(&mut [0u8; 1]);
            return helper.join().unwrap_or_else(|_| Err(io("delete thread died", name, std::io::Error::from_raw_os_error(libc::EIO))));
        }
        if !notified_lost && fds[0].revents != 0 {
            match events.notifications() {
                Ok(msgs) if msgs.iter().any(|m| is_dellink_of(m, name)) => break,
                Ok(_) => {}
                // ENOBUFS: notifications were dropped, ours perhaps among them; wait for the ack.
                Err(_) => notified_lost = true,
            }
        }
    }
    pending();
    PENDING.lock().unwrap_or_else(|e| e.into_inner()).0.push(helper);
    Ok(())
}

fn record(failed: &mut Vec<NetlinkError>, h: Helper) {
    match h.join() {
        // Unregistered already: someone else's deletion (e.g. the netns died) raced ours.
        Ok(Err(NetlinkError::Kernel { errno: Errno::ENODEV, .. })) | Ok(Ok(())) => {}
        Ok(Err(e)) => failed.push(e),
        Err(_) => failed.push(io("delete thread died", "", std::io::Error::from_raw_os_error(libc::EIO))),
    }
}

/// Waits until every deletion [`delete_link`] left to the kernel has finished; returns the failures
/// (none are expected: after the notification the request cannot fail).
pub fn settle() -> Vec<NetlinkError> {
    let (running, mut failed) = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    for h in running {
        record(&mut failed, h);
    }
    failed
}

/// How many deletions are still finishing in the kernel.
pub fn pending() -> usize {
    let mut p = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    let (running, done): (Vec<Helper>, Vec<Helper>) = std::mem::take(&mut p.0).into_iter().partition(|h| !h.is_finished());
    p.0 = running;
    for h in done {
        record(&mut p.1, h);
    }
    p.0.len()
}
