//! Spawning the helper (pasta or slirp4netns) on the container's namespaces and waiting until it
//! is ready: split so that the keeper may spawn it before the runtime has handed the container over
//! (premade.rs) and wait for its readiness only after.

use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::keeper::{make_dir, pidfd_open, stop};
use super::{helper_args, io, slirp, sys, HelperKind, KeeperConfig, RootlessError};

type Result<T> = std::result::Result<T, RootlessError>;

/// How long the helper may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A helper spawned and not yet known to be ready.
pub(crate) struct Spawned {
    pub child: Child,
    helper_fd: OwnedFd,
    /// slirp4netns's ready pipe's read end and its exit pipe's write end.
    pipes: Option<(OwnedFd, OwnedFd)>,
    log_path: std::path::PathBuf,
}

impl Spawned {
    /// Waits until the helper is ready (and slirp4netns's ports are published); stops it on failure.
    pub(crate) fn wait_ready(mut self, c: &KeeperConfig) -> Result<(Child, OwnedFd, Option<OwnedFd>)> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let result = match self.pipes.take() {
            None => wait_pid_file(c, &self.helper_fd, deadline),
            Some((ready_r, exit_w)) => {
                wait_ready_fd(c, &self.helper_fd, ready_r, deadline).and_then(|_| slirp::add_ports(&c.dir.join("api.sock"), &c.ports)).map(|_| Some(exit_w))
            }
        };
        match result {
            Ok(exit_w) => Ok((self.child, self.helper_fd, exit_w)),
            Err(e) => {
                stop(&mut self.child);
                Err(with_log(e, &self.log_path))
            }
        }
    }
}

/// Spawns the helper (on the handed-over or premade namespaces `ns`, else on the container's pid).
pub(crate) fn spawn_helper(c: &KeeperConfig, ns: Option<(BorrowedFd<'_>, BorrowedFd<'_>)>) -> Result<Spawned> {
    make_dir(c)?;
    let log_path = c.dir.join("helper.log");
    let log = fs::File::create(&log_path).map_err(io("create", &log_path))?;
    let mut cmd = Command::new(&c.helper);
    cmd.args(helper_args(c)).stdin(Stdio::null()).stdout(log.try_clone().map_err(io("dup", &log_path))?).stderr(log);
    let mut pipes = None;
    // Descriptors the child gets copies of: ours close once it is spawned.
    let mut held: Vec<OwnedFd> = Vec::new();
    if c.kind == HelperKind::Slirp4netns {
        let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe2", ""))?;
        let (exit_r, exit_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe2", ""))?;
        let (rw, er) = (ready_w.as_raw_fd(), exit_r.as_raw_fd());
        // SAFETY: only async-signal-safe calls (dup2) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(rw, 3) < 0 || libc::dup2(er, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        pipes = Some((ready_r, ready_w, exit_r, exit_w));
    }
    if let Some((user, net)) = ns {
        // Above every number the helper is given (3-6), so the dup2s below cannot clobber a source.
        let high = |fd: BorrowedFd<'_>| nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(10)).map_err(sys("fcntl F_DUPFD_CLOEXEC", &c.dir));
        // SAFETY: fcntl returned new descriptors that we own; they close when `cmd` is dropped.
        let (u, n) = unsafe { (OwnedFd::from_raw_fd(high(user)?), OwnedFd::from_raw_fd(high(net)?)) };
        let (ur, nr) = (u.as_raw_fd(), n.as_raw_fd());
        held.extend([u, n]);
        // SAFETY: only async-signal-safe calls (dup2, which also clears close-on-exec) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(ur, super::NS_USER_FD) < 0 || libc::dup2(nr, super::NS_NET_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let parent = std::process::id() as i32;
    // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // The signals the keeper blocked (for its signalfd) must not stay blocked in the helper.
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::sigprocmask(libc::SIG_UNBLOCK, &all, std::ptr::null_mut());
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The keeper may have died between fork and prctl: then nothing would kill us later.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(io("spawn network helper", &c.helper))?;
    drop(held);
    let helper_fd = match pidfd_open(child.id() as i32) {
        Ok(fd) => fd,
        Err(e) => {
            stop(&mut child);
            return Err(e);
        }
    };
    let pipes = pipes.map(|(ready_r, ready_w, exit_r, exit_w)| {
        drop((ready_w, exit_r));
        (ready_r, exit_w)
    });
    Ok(Spawned { child, helper_fd, pipes, log_path })
}

/// pasta writes its pid file (-P) once its initialisation is done.
fn wait_pid_file(c: &KeeperConfig, helper: &OwnedFd, deadline: Instant) -> Result<Option<OwnedFd>> {
    let pid_file = c.dir.join("helper.pid");
    loop {
        if fs::read_to_string(&pid_file).map(|s| !s.trim().is_empty()).unwrap_or(false) {
            return Ok(None);
        }
        let mut fds = [PollFd::new(helper.as_fd(), PollFlags::POLLIN)];
        // pasta is ready ~20-30 ms after its start: a 1 ms poll costs a few wakeups, not 2.5 ms on average.
        let _ = poll(&mut fds, PollTimeout::from(1u8));
        if fds[0].revents().is_some_and(|r| !r.is_empty()) {
            return Err(RootlessError::Helper { op: "start network helper", path: c.helper.clone(), detail: format!("{:?} exited before it was ready", c.kind).to_lowercase() });
        }
        if Instant::now() > deadline {
            return Err(RootlessError::Helper { op: "start network helper", path: c.helper.clone(), detail: format!("not ready after {}s", READY_TIMEOUT.as_secs()) });
        }
    }
}

/// slirp4netns writes "1" on --ready-fd once the tap device is configured.
fn wait_ready_fd(c: &KeeperConfig, helper: &OwnedFd, ready: OwnedFd, deadline: Instant) -> Result<()> {
    let left = deadline.saturating_duration_since(Instant::now()).as_millis().min(u16::MAX as u128) as u16;
    let mut fds = [PollFd::new(ready.as_fd(), PollFlags::POLLIN), PollFd::new(helper.as_fd(), PollFlags::POLLIN)];
    let _ = poll(&mut fds, PollTimeout::from(left));
    let mut f = fs::File::from(ready);
    let mut b = [0u8; 1];
    match f.read(&mut b) {
        Ok(1) if b[0] == b'1' => Ok(()),
        _ => Err(RootlessError::Helper { op: "start network helper", path: c.helper.clone(), detail: format!("{:?} exited before it was ready", c.kind).to_lowercase() }),
    }
}

/// Adds the end of the helper's log to a start failure (that is where it says why).
fn with_log(e: RootlessError, log: &Path) -> RootlessError {
    let text = fs::read_to_string(log).unwrap_or_default();
    // pasta's informational lines (syslog unreachable, no IPv6 here) are not why it failed.
    let noise = ["Failed to send", "No external routable interface", "No routable interface"];
    let tail: Vec<&str> = text.lines().filter(|l| !l.is_empty() && !noise.iter().any(|n| l.starts_with(n))).collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
    match e {
        RootlessError::Helper { op, path, detail } if !tail.is_empty() => RootlessError::Helper { op, path, detail: format!("{detail}: {tail}") },
        other => other,
    }
}
