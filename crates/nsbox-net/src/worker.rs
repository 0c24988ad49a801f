//! The one thread of ours that steps into containers' network namespaces.
//!
//! Attach needs a netlink socket inside the container's namespace. A socket stays bound to the
//! namespace it was opened in, so the thread only has to be there for the `socket()` call: it enters
//! (setns), opens the socket and comes back at once, through a guard that brings it back on every
//! path out. Node's own threads (the JS thread, libuv's pool) must never change namespace, hence a
//! thread of ours.
//!
//! It lives as long as the process instead of being made per attach: on small VMs, starting a thread
//! and ending it (waking an idle vCPU for it, releasing its stack) cost more than the attach's own
//! kernel work, and a long-lived thread is woken once per request. If it ever fails to get back to
//! its own namespace, it finishes the job it was running and ends; the next request starts a fresh one.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::mpsc::{self, Sender};
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};

use crate::netlink::Netlink;
use crate::sys::SysError;

/// What a job gets on the worker thread: the way into other network namespaces.
pub struct Visitor {
    /// The namespace the thread started in (the process's): where every visit returns.
    home: OwnedFd,
    /// Why a return failed: the thread is somewhere else and must end after this job.
    stranded: Option<Errno>,
}

/// Brings the thread home when dropped (also on an early return or a panic).
struct Visit<'a> {
    visitor: &'a mut Visitor,
}

impl Drop for Visit<'_> {
    fn drop(&mut self) {
        if let Err(errno) = setns(&self.visitor.home, CloneFlags::CLONE_NEWNET) {
            self.visitor.stranded = Some(errno);
        }
    }
}

impl Visitor {
    fn new() -> Result<Visitor, SysError> {
        let path = "/proc/thread-self/ns/net";
        let home = std::fs::File::open(path).map_err(|e| SysError::Io {
            op: "open netns",
            path: path.into(),
            errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
        Ok(Visitor { home: home.into(), stranded: None })
    }

    /// A netlink socket that lives in `netns` (opened there; used from here, where the thread is back).
    pub fn netlink_in(&mut self, netns: BorrowedFd<'_>, path: &str) -> Result<Netlink, SysError> {
        setns(netns, CloneFlags::CLONE_NEWNET).map_err(|errno| SysError::Io { op: "setns", path: path.into(), errno })?;
        let visit = Visit { visitor: self };
        let nl = Netlink::open();
        drop(visit);
        if let Some(errno) = self.stranded {
            return Err(SysError::Io { op: "setns back to the caller's netns", path: path.into(), errno });
        }
        Ok(nl?)
    }

}

/// A job gets the visitor, or the reason the worker could not run it (then it runs on the caller's
/// thread, only to report that failure).
type Job = Box<dyn FnOnce(Result<&mut Visitor, SysError>) + Send>;

static QUEUE: Mutex<Option<Sender<Job>>> = Mutex::new(None);

fn start() -> Result<Sender<Job>, SysError> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("nsbox-net".into())
        .spawn(move || {
            let mut visitor = match Visitor::new() {
                Ok(v) => v,
                Err(e) => {
                    // Cannot know where home is: refuse everything queued, then end.
                    let reason = e.to_string();
                    while let Ok(job) = rx.try_recv() {
                        job(Err(SysError::Worker { reason: reason.clone() }));
                    }
                    return;
                }
            };
            while let Ok(job) = rx.recv() {
                // A panicking job must not end the thread: the jobs queued behind it would never be
                // answered (a JS promise left pending forever). The visit guard has brought it home.
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(Ok(&mut visitor))));
                if let Some(errno) = visitor.stranded {
                    // Under the queue's lock no job can be sent meanwhile: answer those already
                    // queued, and let the next request start a new thread.
                    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
                    *queue = None;
                    let reason = format!("it could not return to its own network namespace ({})", errno.desc());
                    while let Ok(job) = rx.try_recv() {
                        job(Err(SysError::Worker { reason: reason.clone() }));
                    }
                    return;
                }
            }
        })
        .map_err(|e| SysError::Io {
            op: "spawn nsbox-net thread",
            path: String::new(),
            errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN)),
        })?;
    Ok(tx)
}

/// Queues `job` for the worker thread (started on first use, again if it ended) and returns at once.
pub fn submit(job: impl FnOnce(Result<&mut Visitor, SysError>) + Send + 'static) {
    let mut job: Job = Box::new(job);
    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
    // Twice at most: a send fails only when the thread has ended; the second try uses a new one.
    for _ in 0..2 {
        let tx = match queue.as_ref() {
            Some(tx) => tx.clone(),
            None => match start() {
                Ok(tx) => queue.insert(tx).clone(),
                Err(e) => {
                    drop(queue);
                    return job(Err(e));
                }
            },
        };
        match tx.send(job) {
            Ok(()) => return,
            Err(mpsc::SendError(back)) => {
                job = back;
                *queue = None;
            }
        }
    }
    drop(queue);
    job(Err(SysError::Worker { reason: "it ended twice in a row".into() }))
}

/// Runs `job` on the worker thread and waits for its result.
pub fn run<T: Send + 'static>(job: impl FnOnce(&mut Visitor) -> T + Send + 'static) -> Result<T, SysError> {
    let (tx, rx) = mpsc::sync_channel(1);
    submit(move |v| {
        let _ = tx.send(v.map(job));
    });
    rx.recv().map_err(|_| SysError::Worker { reason: "it ended during the job".into() })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_panicking_job_fails_alone_and_the_jobs_behind_it_still_run() {
        let (started, wait_started) = mpsc::channel();
        submit(move |_| {
            let _ = started.send(());
            // Long enough for the next job to be queued behind this one.
            std::thread::sleep(Duration::from_millis(100));
            panic!("a job that panics");
        });
        wait_started.recv().unwrap();
        assert_eq!(run(|_| 7).unwrap(), 7, "the job queued behind the panicking one was answered");
        let worker = run(|_| std::thread::current().id()).unwrap();
        assert_ne!(worker, std::thread::current().id());
    }
}
