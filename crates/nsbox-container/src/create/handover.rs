//! `org.nsbox.net-helper-socket` (spec/plan.rs): the runtime hands a rootless container's user and
//! network namespaces, and a pidfd on its first process, to the network helper's keeper
//! (`nsbox-runtime net-helper`, crates/nsbox-net/src/rootless/keeper.rs) as soon as the id maps are
//! written, before the child sets anything up. The keeper starts pasta or slirp4netns on those
//! descriptors at once, so the helper's start overlaps the container's setup (mounts, rootfs)
//! instead of following `created`, and nothing needs the container's /proc/PID/ns/* later.
//!
//! Why here, in the parent: the child is still the runtime's image, dumpable and blocked before its
//! first Go, so the parent (same uid) may open /proc/CHILD/ns/*; nothing of the container has run
//! yet. The pidfd is opened on our own unreaped child, so it names exactly that process.
//!
//! The socket's directory is the user's own (0700, under the state root), and the peer must be of
//! our uid (SO_PEERCRED). Its path may be longer than a sockaddr_un holds (a 64-hex id in it), so we
//! connect through `/proc/self/fd/DIR/NAME`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::socket::{connect, getsockopt, sendmsg, socket, sockopt, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::sys_wire;

#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    /// The process on the socket is not of our uid.
    #[error("{op}({path}): EPERM: {msg}")]
    Peer { op: &'static str, path: String, msg: String },
}

impl HandoverError {
    pub fn to_wire(&self) -> WireError {
        match self {
            HandoverError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            HandoverError::Peer { op, path, msg } => sys_wire(op, path, Errno::EPERM, msg),
        }
    }
}

type Result<T> = std::result::Result<T, HandoverError>;

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> HandoverError {
    let path = path.to_string();
    move |errno| HandoverError::Sys { op, path, errno }
}

/// The keeper is started (by the library) right before the runtime and may not listen yet.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends the child's pidfd, user and network namespaces to the keeper listening on `socket`.
pub fn send(socket: &Path, child: Pid) -> Result<()> {
    let ns = |name: &str| {
        let p = format!("/proc/{child}/ns/{name}");
        open(p.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open namespace for the network helper", p))
    };
    let (user, net) = (ns("user")?, ns("net")?);
    // SAFETY: pidfd_open takes a pid and flags; it returns a new descriptor we own. `child` is our
    // own child, not yet reaped, so the pid cannot name another process.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.as_raw(), 0) };
    if raw < 0 {
        return Err(sys("pidfd_open", format!("/proc/{child}"))(Errno::last()));
    }
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    let conn = connect_keeper(socket)?;
    let shown = socket.display();
    let peer = getsockopt(&conn, sockopt::PeerCredentials).map_err(sys("getsockopt SO_PEERCRED", &shown))?;
    let me = nix::unistd::getuid().as_raw();
    if peer.uid() != me {
        return Err(HandoverError::Peer { op: "hand namespaces to the network helper", path: shown.to_string(), msg: format!("the socket's process runs as uid {}, not {me}", peer.uid()) });
    }
    let fds = [pidfd.as_raw_fd(), user.as_raw_fd(), net.as_raw_fd()];
    let iov = [std::io::IoSlice::new(b"N")];
    sendmsg::<()>(conn.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::MSG_NOSIGNAL, None)
        .map_err(sys("sendmsg to the network helper", &shown))?;
    Ok(())
}

/// Connects, retrying while the keeper has not bound (ENOENT) or not listened (ECONNREFUSED) yet.
fn connect_keeper(path: &Path) -> Result<OwnedFd> {
    let shown = path.display().to_string();
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => (d, n.to_string_lossy().into_owned()),
        _ => return Err(sys("connect to the network helper", &shown)(Errno::EINVAL)),
    };
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let attempt = || -> std::result::Result<OwnedFd, (&'static str, Errno)> {
            let d = open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| ("open", e))?;
            let s = socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(|e| ("socket", e))?;
            let addr = UnixAddr::new(format!("/proc/self/fd/{}/{name}", d.as_raw_fd()).as_str()).map_err(|e| ("connect", e))?;
            connect(s.as_raw_fd(), &addr).map_err(|e| ("connect", e))?;
            Ok(s)
        };
        match attempt() {
            Ok(s) => return Ok(s),
            Err((_, Errno::ENOENT | Errno::ECONNREFUSED)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Err((op, errno)) => {
                return Err(HandoverError::Sys { op: if op == "open" { "open the network helper's directory" } else { "connect to the network helper" }, path: shown, errno })
            }
        }
    }
}
