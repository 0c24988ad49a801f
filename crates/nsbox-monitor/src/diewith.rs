//! `--die-with PID`: the container dies with that process (learn mode's steps die with the learn
//! session even when it is SIGKILLed). A pidfd, opened before the container starts, becomes
//! readable when the process ends; the monitor then kills the container and carries on as on any
//! exit (state `exited`, `--rm`'s removal).

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nsbox_container::error::sys_wire;
use nsbox_container::state::Root;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

#[derive(Debug, thiserror::Error)]
pub enum DieWithError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl DieWithError {
    pub fn to_wire(&self) -> WireError {
        match self {
            DieWithError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }
}

/// The process the container dies with.
pub enum Parent {
    Alive(OwnedFd),
    /// It had already ended when asked for: the container is killed as soon as it starts.
    Gone,
}

impl Parent {
    pub fn open(pid: i32) -> Result<Parent, DieWithError> {
        if pid <= 0 {
            return Err(DieWithError::Sys { op: "pidfd_open", path: format!("--die-with {pid}"), errno: Errno::EINVAL });
        }
        // SAFETY: pidfd_open takes a pid and flags and returns a new (close-on-exec) descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        match Errno::result(fd) {
            // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
            Ok(fd) => Ok(Parent::Alive(unsafe { OwnedFd::from_raw_fd(fd as i32) })),
            Err(Errno::ESRCH) => Ok(Parent::Gone),
            Err(errno) => Err(DieWithError::Sys { op: "pidfd_open", path: format!("--die-with {pid}"), errno }),
        }
    }

    /// The descriptor to poll while the process lives.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Parent::Alive(fd) => Some(fd.as_fd()),
            Parent::Gone => None,
        }
    }
}

/// Kills the container as `kill --all KILL` does (every process in its cgroups), and its first
/// process directly too: a container without cgroups of its own, or one `kill` refuses (paused).
/// The first process is our unreaped child, so its pid cannot have been reused.
pub fn kill_container(root: &Root, id: &str, pid: nix::unistd::Pid) {
    let _ = nsbox_container::ops::kill(root, id, "KILL", true);
    let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
}
