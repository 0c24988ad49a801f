//! `--console-socket`: the caller (conmon, containerd's shim) listens on a unix socket for the pty
//! master of a container or exec with a terminal. As runc does, we connect, send the master in one
//! sendmsg with SCM_RIGHTS (the payload is the terminal's name), and keep no copy.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::{errno_of, sys_wire};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl ConsoleError {
    pub fn to_wire(&self) -> WireError {
        match self {
            ConsoleError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }
}

/// Connects to `socket` and hands it `master`.
pub fn send(socket: &Path, master: BorrowedFd<'_>) -> Result<(), ConsoleError> {
    send_on(&connect(socket)?, socket, master)
}

/// Connects now, while `socket` is reachable (exec connects before it enters the container's
/// mount namespace).
pub fn connect(socket: &Path) -> Result<UnixStream, ConsoleError> {
    UnixStream::connect(socket).map_err(|e| ConsoleError::Sys { op: "connect console socket", path: socket.display().to_string(), errno: errno_of(&e) })
}

/// Hands `master` to the caller on a connected console socket.
pub fn send_on(s: &UnixStream, socket: &Path, master: BorrowedFd<'_>) -> Result<(), ConsoleError> {
    let at = socket.display().to_string();
    let name = nix::unistd::ttyname(master).map(|p| p.display().to_string()).unwrap_or_else(|_| "/dev/ptmx".into());
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(name.as_bytes())];
    loop {
        match sendmsg::<()>(s.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None) {
            Err(Errno::EINTR) => continue,
            r => return r.map(drop).map_err(|errno| ConsoleError::Sys { op: "sendmsg console socket", path: at, errno }),
        }
    }
}
