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
use nix::sys::socket::{accept4, bind, getsockopt, listen, recvmsg, sendmsg, socket, sockopt, AddressFamily, Backlog, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::sys::stat::Mode;
use nsbox_core::namespaces::nsfs;

use super::{sys, RootlessError};

type Result<T> = std::result::Result<T, RootlessError>;

/// What the runtime hands over.
pub(crate) struct Handed {
    pub pidfd: OwnedFd,
    pub pid: i32,
    pub user: OwnedFd,
    pub net: OwnedFd,
}

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

/// Waits for the runtime's hand-over. `None`: `signals` or `caller` (the keeper's stdin, which the
/// caller never writes to) became readable first: a signal came, or the caller closed its end (it
/// gave up: the runtime failed before it got that far) or died.
pub(crate) fn receive(listener: &OwnedFd, path: &Path, signals: BorrowedFd<'_>, caller: BorrowedFd<'_>) -> Result<Option<Handed>> {
    let Some(conn) = accept_runtime(listener, path, signals, caller)? else { return Ok(None) };
    let handed = read_handover(&conn, path)?;
    let _ = std::fs::remove_file(path);
    Ok(Some(handed))
}

/// With namespaces the keeper made (premade.rs; the runtime's `org.nsbox.net-helper-namespaces:
/// receive`): the runtime connects before its clone, gets the user and network namespaces (one
/// byte `S` with both descriptors), joins them, and once it has cloned the container's first
/// process sends a pidfd on it back on the same connection. `None` as for [`receive`].
pub(crate) fn serve(listener: &OwnedFd, path: &Path, signals: BorrowedFd<'_>, caller: BorrowedFd<'_>, user: BorrowedFd<'_>, net: BorrowedFd<'_>) -> Result<Option<Handed>> {
    let Some(conn) = accept_runtime(listener, path, signals, caller)? else { return Ok(None) };
    let _ = std::fs::remove_file(path);
    let iov = [std::io::IoSlice::new(b"S")];
    let fds = [user.as_raw_fd(), net.as_raw_fd()];
    sendmsg::<()>(conn.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::MSG_NOSIGNAL, None).map_err(sys("sendmsg the namespaces to the runtime", path))?;
    let (pidfd, pid) = read_pidfd(&conn, path)?;
    let dup = |fd: BorrowedFd<'_>| fd.try_clone_to_owned().map_err(super::io("dup", path));
    Ok(Some(Handed { pidfd, pid, user: dup(user)?, net: dup(net)? }))
}

/// The runtime's pidfd on the container's first process, after its clone. End of file: the runtime
/// failed (or refused the namespaces) before it cloned.
fn read_pidfd(conn: &OwnedFd, path: &Path) -> Result<(OwnedFd, i32)> {
    let mut got = recv_fds(conn, path)?;
    let bad = |what: String| RootlessError::Helper { op: "receive the container's first process", path: path.into(), detail: what };
    if got.len() != 1 {
        return Err(bad(match got.len() {
            0 => "the runtime closed the connection before it made the container (it failed, or refused the namespaces)".into(),
            n => format!("expected a pidfd, got {n} descriptors"),
        }));
    }
    let pidfd = got.pop().expect("one");
    let pid = pid_of(&pidfd).ok_or_else(|| bad("the container's first process is already gone".into()))?;
    Ok((pidfd, pid))
}

fn recv_fds(conn: &OwnedFd, path: &Path) -> Result<Vec<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 3]);
    let msg = loop {
        match recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(Errno::EINTR) => continue,
            other => break other.map_err(sys("recvmsg", path))?,
        }
    };
    let mut got: Vec<OwnedFd> = Vec::new();
    for c in msg.cmsgs().map_err(sys("recvmsg", path))? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just installed these descriptors in our table for us.
            got.extend(fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    Ok(got)
}

/// Accepts the runtime's connection (a process of our own uid). `None`: a signal came, or the
/// caller closed our stdin first.
pub(crate) fn accept_runtime(listener: &OwnedFd, path: &Path, signals: BorrowedFd<'_>, caller: BorrowedFd<'_>) -> Result<Option<OwnedFd>> {
    loop {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN), PollFd::new(signals, PollFlags::POLLIN), PollFd::new(caller, PollFlags::POLLIN)];
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
        return Ok(Some(conn));
    }
}

fn read_handover(conn: &OwnedFd, path: &Path) -> Result<Handed> {
    let mut got = recv_fds(conn, path)?;
    let bad = |what: String| RootlessError::Helper { op: "receive the container's namespaces", path: path.into(), detail: what };
    if got.len() != 3 {
        return Err(bad(format!("expected a pidfd and two namespace descriptors, got {} descriptors", got.len())));
    }
    let net = got.pop().expect("three");
    let user = got.pop().expect("three");
    let pidfd = got.pop().expect("three");
    for (fd, want, name) in [(&user, libc::CLONE_NEWUSER, "user"), (&net, libc::CLONE_NEWNET, "network")] {
        if nsfs::ns_type(fd.as_fd()) != want {
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

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::connect;

    /// As the runtime does (crates/nsbox-container/src/create/handover.rs), with our own namespaces.
    fn hand_over(path: &Path, fds: &[RawFd]) {
        let s = socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
        connect(s.as_raw_fd(), &UnixAddr::new(path).unwrap()).unwrap();
        let iov = [std::io::IoSlice::new(b"N")];
        sendmsg::<()>(s.as_raw_fd(), &iov, &[ControlMessage::ScmRights(fds)], MsgFlags::empty(), None).unwrap();
    }

    fn own(name: &str) -> OwnedFd {
        open(format!("/proc/self/ns/{name}").as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).unwrap()
    }

    /// A keeper's surroundings: its directory and socket path, its stdin (the caller's end kept
    /// open until dropped) and a signal pipe that never fires.
    struct Fixture {
        dir: std::path::PathBuf,
        path: std::path::PathBuf,
        caller: (OwnedFd, OwnedFd),
        signals: (OwnedFd, OwnedFd),
    }

    fn fixture(tag: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("nsbox-{tag}-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keeper.sock");
        Fixture { dir, path, caller: nix::unistd::pipe().unwrap(), signals: nix::unistd::pipe().unwrap() }
    }

    #[test]
    fn receives_a_pidfd_and_namespaces_checks_their_kinds_and_gives_up_with_the_caller() {
        let Fixture { dir, path, caller: (caller_r, caller_w), signals: (sig_r, _sig_w) } = fixture("handover");
        let me = super::super::keeper::pidfd_open(std::process::id() as i32).unwrap();

        let l = listen_at(&path).unwrap();
        hand_over(&path, &[me.as_raw_fd(), own("user").as_raw_fd(), own("net").as_raw_fd()]);
        let h = receive(&l, &path, sig_r.as_fd(), caller_r.as_fd()).unwrap().expect("handed over");
        assert_eq!(h.pid, std::process::id() as i32);
        assert!(!path.exists(), "the socket file goes once it has served");

        let l = listen_at(&path).unwrap();
        hand_over(&path, &[me.as_raw_fd(), own("net").as_raw_fd(), own("net").as_raw_fd()]);
        let e = receive(&l, &path, sig_r.as_fd(), caller_r.as_fd()).err().expect("a network namespace is no user namespace");
        assert!(e.to_string().contains("the user namespace descriptor is not a user namespace"), "{e}");

        let l = listen_at(&path).unwrap();
        drop(caller_w);
        assert!(receive(&l, &path, sig_r.as_fd(), caller_r.as_fd()).unwrap().is_none(), "the caller gave up");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn serves_made_namespaces_and_receives_the_containers_pidfd_on_the_same_connection() {
        let Fixture { dir, path, caller: (caller_r, _caller_w), signals: (sig_r, _sig_w) } = fixture("serve");
        let l = listen_at(&path).unwrap();
        let p = path.clone();
        // The runtime's side (crates/nsbox-container/src/create/handover.rs): receive two, send one.
        let runtime = std::thread::spawn(move || {
            let s = socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
            connect(s.as_raw_fd(), &UnixAddr::new(&p).unwrap()).unwrap();
            let fds = recv_fds(&s, &p).unwrap();
            let kinds: Vec<i32> = fds.iter().map(|f| nsfs::ns_type(f.as_fd())).collect();
            let me = super::super::keeper::pidfd_open(std::process::id() as i32).unwrap();
            let iov = [std::io::IoSlice::new(b"P")];
            sendmsg::<()>(s.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&[me.as_raw_fd()])], MsgFlags::empty(), None).unwrap();
            kinds
        });
        let (user, net) = (own("user"), own("net"));
        let h = serve(&l, &path, sig_r.as_fd(), caller_r.as_fd(), user.as_fd(), net.as_fd()).unwrap().expect("served");
        assert_eq!(runtime.join().unwrap(), vec![libc::CLONE_NEWUSER, libc::CLONE_NEWNET]);
        assert_eq!(h.pid, std::process::id() as i32);

        // A runtime that closes without a pidfd (it refused the namespaces, or failed): an error.
        let l = listen_at(&path).unwrap();
        let p = path.clone();
        let runtime = std::thread::spawn(move || {
            let s = socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
            connect(s.as_raw_fd(), &UnixAddr::new(&p).unwrap()).unwrap();
            recv_fds(&s, &p).unwrap().len()
        });
        let e = serve(&l, &path, sig_r.as_fd(), caller_r.as_fd(), user.as_fd(), net.as_fd()).err().expect("no pidfd");
        assert_eq!(runtime.join().unwrap(), 2);
        assert!(e.to_string().contains("the runtime closed the connection before it made the container"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
