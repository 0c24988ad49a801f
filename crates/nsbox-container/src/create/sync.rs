//! The runtime parent and the container child wait for each other over a socketpair: the child
//! must not go on before its id maps and cgroups exist, and the parent must learn whether exec
//! succeeded (end of stream: the close-on-exec socket closed) or what failed.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::protocol::{read_frame, write_frame};
use nsbox_core::WireError;
use serde::{Deserialize, Serialize};

use crate::error::{rule_wire, sys_wire};

/// Talking to another process of ours (the container child, the monitor, the caller on the control
/// socket) failed, or it answered with a failure of its own.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    /// The other end said something we did not expect, or nothing readable.
    #[error("{op}: ERR_PROTOCOL: {msg}")]
    Protocol { op: &'static str, msg: String },
    /// Already reported by the process that hit it (the container child); carries its exit code.
    #[error("{0}")]
    Reported(WireError, i32),
}

impl SyncError {
    pub fn exit_code(&self) -> i32 {
        match self {
            SyncError::Reported(_, code) => *code,
            _ => 125,
        }
    }

    pub fn to_wire(&self) -> WireError {
        match self {
            SyncError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            SyncError::Protocol { op, msg } => rule_wire("ERR_PROTOCOL", op, "", msg),
            SyncError::Reported(w, _) => w.clone(),
        }
    }

    pub fn protocol(op: &'static str, msg: impl Into<String>) -> SyncError {
        SyncError::Protocol { op, msg: msg.into() }
    }
}

pub type Result<T> = std::result::Result<T, SyncError>;

fn sys(op: &'static str, path: &'static str) -> impl FnOnce(Errno) -> SyncError {
    move |errno| SyncError::Sys { op, path: path.into(), errno }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum SyncMsg {
    /// parent → child: maps written, cgroups joined, createRuntime hooks run; go on. `state`: the
    /// container's state for the child's own hooks (createContainer, startContainer), with its pid
    /// as the host sees it; empty when the config has none, and in the first of two Go (below).
    Go { state: String },
    /// child → parent: my user namespace exists (made after joining others); write its id maps,
    /// run the runtime's hooks, then send Go again.
    MapUser,
    /// child → parent: namespaces and rootfs are ready, waiting for Start.
    Created,
    /// parent → child: exec the command.
    Start,
    /// child → parent: the pty master follows as SCM_RIGHTS on the next byte.
    PtyMaster,
    /// child → parent: a seccomp notify listener follows as SCM_RIGHTS on the next byte.
    SeccompListener,
    /// child → parent: a step failed; the child exits with `exit_code`.
    Failed { error: WireError, exit_code: i32 },
}

pub struct SyncSocket(pub UnixStream);

impl SyncSocket {
    pub fn pair() -> Result<(SyncSocket, SyncSocket)> {
        let (a, b) = UnixStream::pair().map_err(|e| io_err("socketpair", e))?;
        Ok((SyncSocket(a), SyncSocket(b)))
    }

    pub fn send(&mut self, msg: &SyncMsg) -> Result<()> {
        write_frame(&mut self.0, msg).map_err(|e| io_err("sync write", e))
    }

    /// `None` when the other end closed (for the parent: the command was exec'd).
    pub fn recv(&mut self) -> Result<Option<SyncMsg>> {
        read_frame(&mut self.0).map_err(|e| io_err("sync read", e))
    }

    /// Waits for one specific message; anything else is a protocol error.
    pub fn expect(&mut self, what: &str, ok: impl Fn(&SyncMsg) -> bool) -> Result<()> {
        match self.recv()? {
            Some(m) if ok(&m) => Ok(()),
            Some(SyncMsg::Failed { error, exit_code }) => Err(SyncError::Reported(error, exit_code)),
            other => Err(SyncError::protocol("sync", format!("expected {what}, got {other:?}"))),
        }
    }

    /// Waits for Go; returns the state it carries for the child's hooks.
    pub fn expect_go(&mut self) -> Result<String> {
        match self.recv()? {
            Some(SyncMsg::Go { state }) => Ok(state),
            Some(SyncMsg::Failed { error, exit_code }) => Err(SyncError::Reported(error, exit_code)),
            other => Err(SyncError::protocol("sync", format!("expected Go, got {other:?}"))),
        }
    }
}

impl SyncSocket {
    /// Passes a descriptor to the other process (the pty master, opened inside the container so
    /// its slave has a name in the container's /dev/pts).
    pub fn send_fd(&mut self, fd: BorrowedFd<'_>) -> Result<()> {
        self.send_fd_as(&SyncMsg::PtyMaster, fd, "pty")
    }

    /// `msg`, then `fd` (`what` names it in errors).
    pub fn send_fd_as(&mut self, msg: &SyncMsg, fd: BorrowedFd<'_>, what: &'static str) -> Result<()> {
        self.send(msg)?;
        let fds = [fd.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let iov = [IoSlice::new(b"F")];
        sendmsg::<()>(self.0.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None).map_err(sys("sendmsg", what))?;
        Ok(())
    }

    pub fn recv_fd(&mut self) -> Result<OwnedFd> {
        let mut byte = [0u8; 1];
        let mut iov = [IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(self.0.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
            .map_err(sys("recvmsg", "pty"))?;
        for c in msg.cmsgs().map_err(sys("recvmsg", "pty"))? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                if let Some(&fd) = fds.first() {
                    // SAFETY: the kernel just installed this descriptor in our table for us.
                    return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        Err(SyncError::protocol("recvmsg", "no descriptor arrived with the pty message"))
    }
}

/// A framing error: with an errno the socket failed, without one the bytes made no sense.
pub fn io_err(op: &'static str, e: std::io::Error) -> SyncError {
    match e.raw_os_error() {
        Some(n) => SyncError::Sys { op, path: String::new(), errno: Errno::from_raw(n) },
        None => SyncError::protocol(op, e.to_string()),
    }
}
