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
//! So [`delete_link`] has the request sent by a reaper thread (host namespace; it never changes
//! namespace) and returns as soon as the kernel's own `RTM_DELLINK` notification for the link
//! arrives, leaving the reaper blocked in the kernel until the memory is freed. Reapers are reused:
//! an idle one takes the next deletion, a new one starts only when all are busy (a burst of detaches
//! runs in parallel, not one barrier after another), and one idle for a few seconds ends. If the request
//! fails, or the notification is lost (ENOBUFS), it waits for the ack as before. [`settle`] waits for
//! the reapers' deletions (the addon calls it when its Node environment exits; the kernel also never lets a
//! process finish exiting while one of its threads is inside that uninterruptible wait, so the
//! deletion completes even after SIGKILL).

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::RouteNetlinkMessage as Rt;
use nix::errno::Errno;

use crate::link;
use crate::netlink::{Netlink, NetlinkError, Result};

/// How long a reaper waits for another deletion before it ends.
const REAPER_IDLE: Duration = Duration::from_secs(5);

/// One deletion: the link, and where to say that the request returned (with its result).
struct Job {
    name: String,
    done: UnixStream,
}

#[derive(Default)]
struct Reapers {
    /// Idle reapers, each by its own queue and id (the most recently idle is reused first).
    idle: Vec<(u64, Sender<Job>)>,
    next_id: u64,
    /// Deletions sent and not yet acked by the kernel.
    pending: usize,
    /// Failures of finished deletions whose caller had already returned, not reported yet.
    failed: Vec<NetlinkError>,
}

static REAPERS: Mutex<Reapers> = Mutex::new(Reapers { idle: Vec::new(), next_id: 0, pending: 0, failed: Vec::new() });
static SETTLED: Condvar = Condvar::new();

fn reapers() -> std::sync::MutexGuard<'static, Reapers> {
    REAPERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn io(op: &str, target: &str, e: std::io::Error) -> NetlinkError {
    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    NetlinkError::Kernel { op: op.into(), target: target.into(), errno, message: errno.desc().into() }
}

fn is_dellink_of(m: &Rt, name: &str) -> bool {
    matches!(m, Rt::DelLink(l) if l.attributes.iter().any(|a| matches!(a, LinkAttribute::IfName(n) if n == name)))
}

/// A reaper: deletes links one at a time, reporting each result both to the caller (if it is still
/// waiting) and, for failures, to [`settle`].
fn reap(id: u64, jobs: Receiver<Job>, me: Sender<Job>) {
    let mut nl: Option<Netlink> = None;
    loop {
        let job = match jobs.recv_timeout(REAPER_IDLE) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                let mut r = reapers();
                match r.idle.iter().position(|(i, _)| *i == id) {
                    Some(pos) => {
                        r.idle.remove(pos);
                        return;
                    }
                    // Taken off the idle list by a caller that is sending a job right now.
                    None => continue,
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let result = match nl.as_mut() {
            Some(sock) => link::delete_link(sock, &job.name),
            None => Netlink::open().and_then(|sock| link::delete_link(nl.insert(sock), &job.name)),
        };
        // A failure is left for the caller before it is woken (it looks it up by name); if the
        // caller is gone (it returned at the notification), settle() reports it instead.
        let failed = result.is_err();
        if let Err(e) = result {
            RESULTS.lock().unwrap_or_else(|p| p.into_inner()).push((job.name.clone(), e));
        }
        let told = (&job.done).write_all(&[u8::from(!failed)]).is_ok();
        let mut r = reapers();
        r.pending -= 1;
        if failed && !told {
            match take_result(&job.name) {
                // Unregistered already: someone else's deletion (e.g. the netns died) raced ours.
                Err(NetlinkError::Kernel { errno: Errno::ENODEV, .. }) | Ok(()) => {}
                Err(e) => r.failed.push(e),
            }
        }
        r.idle.push((id, me.clone()));
        SETTLED.notify_all();
    }
}

/// Results for callers still waiting (they take their own by link name).
static RESULTS: Mutex<Vec<(String, NetlinkError)>> = Mutex::new(Vec::new());

fn take_result(name: &str) -> Result<()> {
    let mut results = RESULTS.lock().unwrap_or_else(|p| p.into_inner());
    match results.iter().position(|(n, _)| n == name) {
        Some(pos) => Err(results.remove(pos).1),
        None => Ok(()),
    }
}

/// Hands `job` to an idle reaper, or to a new one when all are busy.
fn dispatch(job: Job) -> Result<()> {
    let mut r = reapers();
    r.pending += 1;
    let mut job = job;
    while let Some((_, tx)) = r.idle.pop() {
        match tx.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    let (tx, rx) = mpsc::channel();
    let id = r.next_id;
    r.next_id += 1;
    let name = job.name.clone();
    let me = tx.clone();
    if let Err(e) = std::thread::Builder::new().name("nsbox-reaper".into()).spawn(move || reap(id, rx, me)) {
        r.pending -= 1;
        return Err(io("spawn reaper thread", &name, e));
    }
    // The reaper is alive and holds its receiver: this cannot fail.
    let _ = tx.send(job);
    Ok(())
}

/// Deletes the link `name` (in the caller's namespace) and returns once the kernel has unregistered
/// it: gone from every listing, off its bridge, its name free. Errors are the request's (ENODEV when
/// there is no such link).
pub fn delete_link(name: &str) -> Result<()> {
    // Subscribed before the request is sent, so its notification cannot be missed.
    let mut events = Netlink::open_subscribed(&[libc::RTNLGRP_LINK])?;
    let (mut done_rx, done_tx) = UnixStream::pair().map_err(|e| io("socketpair", name, e))?;
    dispatch(Job { name: name.to_string(), done: done_tx })?;
    let mut notified_lost = false;
    loop {
        let mut fds = [
            libc::pollfd { fd: events.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: done_rx.as_raw_fd(), events: libc::POLLIN, revents: 0 },
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
            // Cannot wait for the notification: fall back to the reaper's answer.
            notified_lost = true;
            continue;
        }
        if watched.iter().any(|p| p.fd == done_rx.as_raw_fd() && p.revents != 0) {
            let mut ok = [0u8; 1];
            return match done_rx.read(&mut ok) {
                Ok(1) if ok[0] == 1 => Ok(()),
                Ok(1) => take_result(name),
                _ => Err(io("delete link: reaper ended", name, std::io::Error::from_raw_os_error(libc::EIO))),
            };
        }
        if !notified_lost && fds[0].revents != 0 {
            match events.notifications() {
                // Returning closes our end: the reaper then keeps a failure for settle().
                Ok(msgs) if msgs.iter().any(|m| is_dellink_of(m, name)) => return Ok(()),
                Ok(_) => {}
                // ENOBUFS: notifications were dropped, ours perhaps among them; wait for the ack.
                Err(_) => notified_lost = true,
            }
        }
    }
}

/// Waits until every deletion [`delete_link`] left to the kernel has finished; returns the failures
/// (none are expected: after the notification the request cannot fail).
pub fn settle() -> Vec<NetlinkError> {
    let mut r = reapers();
    while r.pending > 0 {
        r = SETTLED.wait(r).unwrap_or_else(|e| e.into_inner());
    }
    std::mem::take(&mut r.failed)
}

/// How many deletions are still finishing in the kernel.
pub fn pending() -> usize {
    reapers().pending
}
