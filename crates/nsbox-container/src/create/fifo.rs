//! runc's exec fifo, for OCI `create` without a monitor. `create` makes `exec.fifo` in the
//! container's state directory; the container's first process opens it O_PATH before pivot_root
//! and, once everything is set up, reopens it through /proc/self/fd for writing, which blocks
//! until `start` opens it for reading. `create` can then exit and leave the process to its caller
//! (a subreaper: conmon, containerd's shim); `start` releases it from any process.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::Mode;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::{rule_wire, sys_wire};

pub const NAME: &str = "exec.fifo";

#[derive(Debug, thiserror::Error)]
pub enum FifoError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    /// `start` found the fifo but the process that should be waiting on it is gone.
    #[error("start({id}): ERR_NOT_RUNNING: container not running: its process exited before start")]
    Exited { id: String },
    #[error("start({id}): ERR_NOT_CREATED: container {id} has no exec fifo: it was started already")]
    Started { id: String },
}

impl FifoError {
    pub fn to_wire(&self) -> WireError {
        match self {
            FifoError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            FifoError::Exited { id } => rule_wire("ERR_NOT_RUNNING", "start", id, "container not running: its process exited before start"),
            FifoError::Started { id } => rule_wire("ERR_NOT_CREATED", "start", id, &format!("container {id} has no exec fifo: it was started already")),
        }
    }
}

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> FifoError {
    let path = path.to_string();
    move |errno| FifoError::Sys { op, path, errno }
}

/// `create`: the fifo, writable by the container's root (`owner`: its host uid and gid with a user
/// namespace) as runc makes it; the state directory around it stays owner-only.
pub fn make(path: &Path, owner: Option<(u32, u32)>) -> Result<(), FifoError> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o600)).map_err(sys("mkfifo", path.display()))?;
    if let Some((uid, gid)) = owner {
        nix::unistd::chown(path, Some(uid.into()), Some(gid.into())).map_err(sys("chown", path.display()))?;
    }
    Ok(())
}

/// In the container's process, before pivot_root: an O_PATH handle the container cannot swap.
pub fn open_path(path: &Path) -> Result<OwnedFd, FifoError> {
    open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open O_PATH", path.display()))
}

fn proc_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// In the container's process, after pivot_root and before it tells `create` it is ready: the
/// reopen below needs the container's /proc (a config without it cannot be started this way).
pub fn check(fd: &OwnedFd) -> Result<(), FifoError> {
    let p = proc_path(fd);
    nix::sys::stat::stat(p.as_str()).map(drop).map_err(sys("stat (the exec fifo is reopened through the container's /proc)", p))
}

/// In the container's process: blocks until `start` opens the fifo, then tells it we go on.
pub fn wait(fd: OwnedFd) -> Result<(), FifoError> {
    let p = proc_path(&fd);
    let w = loop {
        match open(p.as_str(), OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty()) {
            Err(Errno::EINTR) => continue,
            r => break r.map_err(sys("open exec fifo", &p))?,
        }
    };
    nix::unistd::write(&w, b"0").map_err(sys("write exec fifo", &p))?;
    Ok(())
}

/// `start`: opens the fifo for reading (never blocking: a container whose process is gone must not
/// hang us), waits for its byte while `alive` says the process lives, then removes the fifo.
pub fn release(path: &Path, id: &str, alive: impl Fn() -> bool) -> Result<(), FifoError> {
    let r = match open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(r) => r,
        Err(Errno::ENOENT) => return Err(FifoError::Started { id: id.to_string() }),
        Err(e) => return Err(sys("open exec fifo", path.display())(e)),
    };
    let started = Instant::now();
    loop {
        let mut fds = [PollFd::new(r.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(sys("poll exec fifo", path.display())(e)),
        }
        let mut b = [0u8; 1];
        match nix::unistd::read(r.as_fd(), &mut b) {
            Ok(1) => break,
            Ok(_) | Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(e) => return Err(sys("read exec fifo", path.display())(e)),
        }
        // Not yet: the process may still be on its way to the open; or gone.
        if !alive() && started.elapsed() > Duration::from_millis(10) {
            return Err(FifoError::Exited { id: id.to_string() });
        }
    }
    std::fs::remove_file(path).map_err(|e| sys("unlink", path.display())(crate::error::errno_of(&e)))
}
