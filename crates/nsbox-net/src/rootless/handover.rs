//! The keeper's end of the namespace hand-over (the runtime's end: crates/nsbox-container/src/
//! create/handover.rs). Started by the library before the runtime, the keeper listens on a socket in
//! its own 0700 helper directory; the runtime connects as soon as the container's id maps are
//! written and passes a pidfd on the container's first process and its user and network namespaces
//! (SCM_RIGHTS). The helper then starts on those descriptors while the runtime sets the container
//! up. Until the hand-over the keeper also watches its stdin: the library closes it (or dies) when
//! the runtime failed before it, and the keeper leaves then, having started nothing.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{accept4, bind, getsockopt, listen, recvmsg, socket, sockopt, AddressFamily, Backlog, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::sys::stat::Mode;

use super::{sys, RootlessError};

type Result<T> = std::result::Result<T, RootlessError>;

/// What the runtime hands over.
pub(crate) struct Handed {
    pub pidfd: OwnedFd,
    pub pid: i32,
    pub user: OwnedFd,
    pub net: OwnedFd,
}

/// NS_GET_NSTYPE (linux/nsfs.h): which kind of namespace a descriptor refers to.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// Binds and listens on `path` (through /proc/self/fd/DIR/NAME: the path may be longer than a
/// sockaddr_un holds). A stale file of an earlier keeper for this id is replaced.
pub(crate) fn listen_at(path: &Path) -> Result<OwnedFd> {
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => (d, n.to_string_lossy().into_owned()),
        _ => return Err(sys("listen for the runtime", path)(Errno::EINVAL)),
    };
    let d = open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open", dir))?;
    let _ = std::fs::remove_file(path);
    let s = socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(sys("socket", path))?;
    let addr = UnixAddr::new(format!("/proc/self/fd/{}/{name}", d.as_raw_fd()).as_str()).map_err(sys("bind", path))?;
    bind(s.as_raw_fd(), &addr).map_err(sys("bind", path))?;
    listen(&s, Backlog::new(4).unwrap_or(Backlog::MAXCONN)).map_err(sys("listen", path))?;
    Ok(s)
}

/// Waits for the runtime's hand-over. `None`: a signal came or stdin closed first (the caller gave
/// up: the runtime failed before it got that far).
pub(crate) fn receive(listener: &OwnedFd, path: &Path, signals: BorrowedFd<'_>) -> Result<Option<Handed>> {
    let stdin = std::io::stdin();
    loop {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN), PollFd::new(signals, PollFlags::POLLIN), PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(sys("poll", path)(e)),
            Ok(_) => {}
        }
        let ready = |i: usize| fds[i].revents().is_some_and(|r| !r.is_empty());
        if ready(1) || ready(2) {
            return Ok(None);
        }
        if !ready(0) {
            continue;
        }
        let conn = match accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            // SAFETY: accept4 just returned this descriptor to us.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
            Err(Errno::EINTR | Errno::ECONNABORTED) => continue,
            Err(e) => return Err(sys("accept", path)(e)),
        };
        // Only a process of our own uid (the runtime) may hand us namespaces; the directory is
        // 0700 already, this says so once more. Anyone else's connection is dropped.
        let peer = getsockopt(&conn, sockopt::PeerCredentials).map_err(sys("getsockopt SO_PEERCRED", path))?;
        if peer.uid() != nix::unistd::getuid().as_raw() {
            continue;
        }
        let handed = read_handover(&conn, path)?;
        let _ = std::fs::remove_file(path);
        return Ok(Some(handed));
    }
}

fn read_handover(conn: &OwnedFd, path: &Path) -> Result<Handed> {
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 3]);
    let msg = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC).map_err(sys("recvmsg", path))?;
    let mut got: Vec<OwnedFd> = Vec::new();
    for c in msg.cmsgs().map_err(sys("recvmsg", path))? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just installed these descriptors in our table for us.
            got.extend(fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    let bad = |what: String| RootlessError::Helper { op: "receive the container's namespaces", path: path.into(), detail: what };
    if got.len() != 3 {
        return Err(bad(format!("expected a pidfd and two namespace descriptors, got {} descriptors", got.len())));
    }
    let net = got.pop().expect("three");
    let user = got.pop().expect("three");
    let pidfd = got.pop().expect("three");
    for (fd, want, name) in [(&user, libc::CLONE_NEWUSER, "user"), (&net, libc::CLONE_NEWNET, "network")] {
        // SAFETY: an ioctl without arguments on a descriptor we own.
        let kind = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE) };
        if kind != want {
            return Err(bad(format!("the {name} namespace descriptor is not a {name} namespace")));
        }
    }
    let pid = pid_of(&pidfd).ok_or_else(|| bad("the container's first process is already gone".into()))?;
    Ok(Handed { pidfd, pid, user, net })
}

/// The pid a pidfd refers to (its fdinfo's `Pid:`; -1 once the process is gone).
fn pid_of(pidfd: &OwnedFd) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).ok()?;
    let pid: i32 = info.lines().find_map(|l| l.strip_prefix("Pid:"))?.trim().parse().ok()?;
    (pid > 0).then_some(pid)
}
