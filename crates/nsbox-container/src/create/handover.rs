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

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::socket::{connect, getsockopt, recvmsg, sendmsg, socket, sockopt, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use nsbox_core::error::errno_name;
use nsbox_core::idmap::IdMapping;
use nsbox_core::namespaces::nsfs;
use nsbox_core::WireError;

use crate::error::sys_wire;

#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    /// The process on the socket is not of our uid.
    #[error("{op}({path}): EPERM: {msg}")]
    Peer { op: &'static str, path: String, msg: String },
    /// `org.nsbox.net-helper-namespaces`: what the keeper sent is not what the spec asks for.
    #[error("receive namespaces from the network helper({path}): EPERM: {msg}")]
    Refused { path: String, msg: String },
}

impl HandoverError {
    pub fn to_wire(&self) -> WireError {
        match self {
            HandoverError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            HandoverError::Peer { op, path, msg } => sys_wire(op, path, Errno::EPERM, msg),
            HandoverError::Refused { path, msg } => sys_wire("receive namespaces from the network helper", path, Errno::EPERM, msg),
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
    let pidfd = pidfd_of(child)?;
    let conn = connect_keeper(socket)?;
    let shown = socket.display();
    check_peer(&conn, &shown.to_string())?;
    let fds = [pidfd.as_raw_fd(), user.as_raw_fd(), net.as_raw_fd()];
    let iov = [std::io::IoSlice::new(b"N")];
    sendmsg::<()>(conn.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::MSG_NOSIGNAL, None)
        .map_err(sys("sendmsg to the network helper", &shown))?;
    Ok(())
}

fn pidfd_of(child: Pid) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; it returns a new descriptor we own. `child` is our
    // own child, not yet reaped, so the pid cannot name another process.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.as_raw(), 0) };
    if raw < 0 {
        return Err(sys("pidfd_open", format!("/proc/{child}"))(Errno::last()));
    }
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as i32) })
}

/// Only a process of our own uid may be the keeper (the directory is 0700 too).
fn check_peer(conn: &OwnedFd, shown: &str) -> Result<()> {
    let peer = getsockopt(conn, sockopt::PeerCredentials).map_err(sys("getsockopt SO_PEERCRED", shown))?;
    let me = nix::unistd::getuid().as_raw();
    if peer.uid() != me {
        return Err(HandoverError::Peer { op: "hand namespaces to the network helper", path: shown.to_string(), msg: format!("the socket's process runs as uid {}, not {me}", peer.uid()) });
    }
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

/// `org.nsbox.net-helper-namespaces: receive`: the keeper's connection, and the user and network
/// namespaces it made (the keeper's side: crates/nsbox-net/src/rootless/premade.rs).
pub struct Received {
    pub conn: OwnedFd,
    pub user: OwnedFd,
    pub net: OwnedFd,
}

/// How long the keeper may take to send the namespaces once it accepted us (it makes them before
/// it listens: this only bounds a keeper that stalls).
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Before clone: connects to the keeper and receives the namespaces it made, then checks that
/// they are what the spec asks for a new user and network namespace to be, as far as can be
/// known before entering them: a user namespace that is a child of ours and owned by our uid, and
/// a network namespace owned by that user namespace. Its maps are checked once entered
/// ([`check_maps`]): only from inside does /proc/self/uid_map show them in our own ids.
pub fn receive(socket: &Path) -> Result<Received> {
    let shown = socket.display().to_string();
    let conn = connect_keeper(socket)?;
    check_peer(&conn, &shown)?;
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    // Room for more than the two we expect, so that a keeper sending too many is told apart from a
    // truncated message.
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let refuse = |msg: String| HandoverError::Refused { path: shown.clone(), msg };
    // Our signals are blocked by now (the caller's signalfd): a keeper that accepted and then
    // stalls must not hold us for ever.
    let deadline = Instant::now() + RECEIVE_TIMEOUT;
    let msg = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [nix::poll::PollFd::new(conn.as_fd(), nix::poll::PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::try_from(left).unwrap_or(nix::poll::PollTimeout::MAX)) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(sys("poll", &shown)(e)),
            Ok(0) => return Err(refuse(format!("the network helper's keeper sent nothing in {} s", RECEIVE_TIMEOUT.as_secs()))),
            Ok(_) => {}
        }
        match recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT) {
            Err(Errno::EINTR | Errno::EAGAIN) => continue,
            other => break other.map_err(sys("receive namespaces from the network helper", &shown))?,
        }
    };
    let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
    let mut got: Vec<OwnedFd> = Vec::new();
    for c in msg.cmsgs().map_err(sys("receive namespaces from the network helper", &shown))? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just installed these descriptors in our table for us.
            got.extend(fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    if truncated {
        return Err(refuse("the network helper's keeper sent more descriptors than a user and a network namespace".into()));
    }
    if msg.bytes == 1 && byte[0] != b'S' {
        return Err(refuse(format!("the network helper's keeper sent {:?}, not the namespaces' message", byte[0] as char)));
    }
    if got.len() != 2 {
        return Err(refuse(match got.len() {
            0 => "the network helper's keeper sent no namespaces (it failed: its own error follows at created)".into(),
            n => format!("expected a user and a network namespace, got {n} descriptors"),
        }));
    }
    let net = got.pop().expect("two");
    let user = got.pop().expect("two");
    check_namespaces(&user, &net).map_err(refuse)?;
    Ok(Received { conn, user, net })
}

/// The checks [`receive`] makes before entering them (see there).
pub fn check_namespaces(user: &OwnedFd, net: &OwnedFd) -> std::result::Result<(), String> {
    for (fd, want, name) in [(user, libc::CLONE_NEWUSER, "user"), (net, libc::CLONE_NEWNET, "network")] {
        if nsfs::ns_type(fd.as_fd()) != want {
            return Err(format!("the {name} namespace descriptor is not a {name} namespace"));
        }
    }
    let me = nix::unistd::geteuid().as_raw();
    match nsfs::owner_uid(user.as_fd()) {
        Some(owner) if owner == me => {}
        owner => return Err(format!("the user namespace is owned by uid {}, not by us ({me})", owner.map_or("?".into(), |o| o.to_string()))),
    }
    let ino = |fd: &OwnedFd| nix::sys::stat::fstat(fd).map(|s| (s.st_dev, s.st_ino)).ok();
    let ours = nix::fcntl::open("/proc/self/ns/user", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok();
    let parent = nsfs::parent(user.as_fd());
    if parent.as_ref().and_then(ino).is_none() || parent.as_ref().and_then(ino) != ours.as_ref().and_then(ino) {
        return Err("the user namespace is not a child of the runtime's own".into());
    }
    if nsfs::owning_user(net.as_fd()).as_ref().and_then(ino) != ino(user) {
        return Err("the network namespace does not belong to the user namespace sent with it".into());
    }
    Ok(())
}

/// Once in the received user namespace (before clone): its maps, as /proc/self shows them from
/// inside (in the parent namespace's ids, ours), must be exactly the spec's.
pub fn check_maps(socket: &Path, uid_map: &[IdMapping], gid_map: &[IdMapping]) -> Result<()> {
    for (file, want) in [("uid_map", uid_map), ("gid_map", gid_map)] {
        let p = format!("/proc/self/{file}");
        let text = std::fs::read_to_string(&p).map_err(|e| HandoverError::Sys { op: "read", path: p.clone(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) })?;
        let got: Vec<Vec<u32>> = text.lines().map(|l| l.split_whitespace().filter_map(|w| w.parse().ok()).collect()).collect();
        let want: Vec<Vec<u32>> = want.iter().map(|m| vec![m.inside, m.outside, m.length]).collect();
        if got != want {
            let show = |m: &[Vec<u32>]| m.iter().map(|l| format!("{} {} {}", l[0], l[1], l[2])).collect::<Vec<_>>().join(", ");
            return Err(HandoverError::Refused { path: socket.display().to_string(), msg: format!("the received user namespace's {file} is [{}], the spec asks for [{}]", show(&got), show(&want)) });
        }
    }
    Ok(())
}

/// After clone: a pidfd on the container's first process, on the keeper's connection.
pub fn send_pidfd(r: &Received, socket: &Path, child: Pid) -> Result<()> {
    let pidfd = pidfd_of(child)?;
    let iov = [std::io::IoSlice::new(b"P")];
    sendmsg::<()>(r.conn.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&[pidfd.as_raw_fd()])], MsgFlags::MSG_NOSIGNAL, None)
        .map_err(sys("sendmsg to the network helper", socket.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::waitpid;
    use nix::unistd::{fork, ForkResult};

    fn open_ns(p: &str) -> OwnedFd {
        open(p, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).unwrap()
    }

    /// A user and a network namespace of a forked child's (`flags` for its unshare), opened and
    /// kept while the child is killed.
    fn child_namespaces(flags: libc::c_int) -> (OwnedFd, OwnedFd) {
        let (r, w) = nix::unistd::pipe().unwrap();
        // SAFETY: the child only makes raw syscalls and never returns into the test harness.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => unsafe {
                libc::unshare(flags);
                libc::write(w.as_raw_fd(), b"1".as_ptr().cast(), 1);
                loop {
                    libc::pause();
                }
            },
            ForkResult::Parent { child } => {
                drop(w);
                let mut b = [0u8; 1];
                nix::unistd::read(&r, &mut b).unwrap();
                let got = (open_ns(&format!("/proc/{child}/ns/user")), open_ns(&format!("/proc/{child}/ns/net")));
                kill(child, Signal::SIGKILL).unwrap();
                waitpid(child, None).unwrap();
                got
            }
        }
    }

    #[test]
    fn received_namespaces_must_be_a_new_user_namespace_of_ours_and_a_network_namespace_it_owns() {
        let (user, net) = child_namespaces(libc::CLONE_NEWUSER | libc::CLONE_NEWNET);
        assert_eq!(check_namespaces(&user, &net), Ok(()));
        let wrong_type = check_namespaces(&net, &net).unwrap_err();
        assert!(wrong_type.contains("the user namespace descriptor is not a user namespace"), "{wrong_type}");
        let ours = check_namespaces(&open_ns("/proc/self/ns/user"), &open_ns("/proc/self/ns/net")).unwrap_err();
        assert!(ours.contains("not a child of the runtime's own"), "{ours}");
        // A new user namespace with the host's network namespace: not one made for the container.
        let (user2, _) = child_namespaces(libc::CLONE_NEWUSER);
        let foreign = check_namespaces(&user2, &open_ns("/proc/self/ns/net")).unwrap_err();
        assert!(foreign.contains("does not belong to the user namespace sent with it"), "{foreign}");
        let other = check_namespaces(&user2, &net).unwrap_err();
        assert!(other.contains("does not belong"), "{other}");
    }

    #[test]
    fn maps_other_than_the_specs_are_refused() {
        // Read from our own /proc/self, as the runtime does once inside the received namespace.
        let text = std::fs::read_to_string("/proc/self/uid_map").unwrap();
        let f: Vec<u32> = text.split_whitespace().map(|w| w.parse().unwrap()).collect();
        let same = vec![IdMapping { inside: f[0], outside: f[1], length: f[2] }];
        let gid: Vec<u32> = std::fs::read_to_string("/proc/self/gid_map").unwrap().split_whitespace().map(|w| w.parse().unwrap()).collect();
        let gsame = vec![IdMapping { inside: gid[0], outside: gid[1], length: gid[2] }];
        assert!(check_maps(Path::new("/k.sock"), &same, &gsame).is_ok());
        let one = vec![IdMapping { inside: 0, outside: 0, length: 1 }];
        let e = check_maps(Path::new("/k.sock"), &one, &gsame).unwrap_err().to_string();
        assert!(e.starts_with("receive namespaces from the network helper(/k.sock): EPERM: the received user namespace's uid_map is ["), "{e}");
        assert!(e.ends_with("the spec asks for [0 0 1]"), "{e}");
    }
}
