//! The keeper makes the container's user and network namespaces itself, before the runtime needs
//! them (config `makeNamespaces`; the runtime's `org.nsbox.net-helper-namespaces: receive`), so the
//! helper starts on them while the runtime is still starting: podman's order (its pause process's
//! namespaces are made, and pasta started on them, before crun runs), which overlaps the helper's
//! own start (~20 ms of CPU for pasta) with the runtime's whole start instead of its setup only.
//!
//! How: a forked child unshares a user and a network namespace; we (its parent, of the same uid,
//! in the parent user namespace) deny setgroups and write the single-id maps an unprivileged
//! process may write (our uid and gid as 0, what a rootless spec asks for without /etc/subuid),
//! open its `/proc/CHILD/ns/{user,net}`, then kill and reap it: the descriptors keep the
//! namespaces alive, no process stays in them. The keeper is single-threaded here (std's main
//! thread only; no thread is started before this), so fork without exec is sound.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::sys::signalfd::SignalFd;
use nix::unistd::{fork, getegid, geteuid, ForkResult, Pid};

use super::keeper::{cleanup, fail_early, make_dir, report_error, serve_container, stop};
use super::spawn::spawn_helper;
use super::{handover, io, sys, KeeperConfig, RootlessError};

type Result<T> = std::result::Result<T, RootlessError>;

/// The new namespaces: a user namespace (our uid and gid as 0) and a network namespace owned by it.
pub(crate) struct Namespaces {
    pub user: OwnedFd,
    pub net: OwnedFd,
}

/// Makes the namespaces (see the module).
pub(crate) fn make() -> Result<Namespaces> {
    let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe2", "namespaces"))?;
    let keeper = std::process::id() as libc::pid_t;
    // SAFETY: the keeper is single-threaded (module comment); the child only makes raw syscalls
    // (prctl, dup2, close_range, unshare, write, pause) and never returns, nothing that allocates or
    // takes a lock.
    match unsafe { fork() }.map_err(sys("fork", "namespaces"))? {
        ForkResult::Child => {
            // SAFETY: raw syscalls on values we own; the child never returns into Rust code.
            unsafe {
                // If the keeper dies before it kills us (SIGKILL, the OOM killer), we must not stay
                // behind holding a root-mapped user namespace, nor the keeper's listening socket and
                // stdout (the runtime and the library would wait on them for ever): die with it,
                // and keep no descriptor but the ready pipe (moved to 3).
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
                if libc::getppid() != keeper || libc::dup2(ready_w.as_raw_fd(), 3) < 0 {
                    libc::_exit(1);
                }
                libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32);
                for fd in 0..3 {
                    libc::close(fd);
                }
                let ok = libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0;
                let b: u8 = if ok { b'1' } else { b'0' };
                libc::write(3, (&b as *const u8).cast(), 1);
                loop {
                    libc::pause();
                }
            }
        }
        ForkResult::Parent { child } => {
            drop(ready_w);
            let made = finish(child, ready_r);
            // The descriptors hold the namespaces now; the child has done its work either way.
            let _ = kill(child, Signal::SIGKILL);
            let _ = waitpid(child, None);
            made
        }
    }
}

/// Waits until the child unshared, writes its maps and opens its namespaces.
fn finish(child: Pid, ready: OwnedFd) -> Result<Namespaces> {
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(&ready, &mut b) {
            Err(Errno::EINTR) => continue,
            Ok(1) if b[0] == b'1' => break,
            Ok(1) => return Err(sys("unshare user and network namespaces", "namespaces")(Errno::EPERM)),
            Ok(_) => return Err(sys("unshare user and network namespaces", "namespaces")(Errno::ECHILD)),
            Err(e) => return Err(sys("read", "namespaces")(e)),
        }
    }
    let proc = |name: &str| format!("/proc/{child}/{name}");
    // An unprivileged process may write gid_map only once setgroups is denied (user_namespaces(7)).
    for (file, text) in [("setgroups", "deny".to_string()), ("uid_map", format!("0 {} 1", geteuid())), ("gid_map", format!("0 {} 1", getegid()))] {
        let p = proc(file);
        std::fs::write(&p, text).map_err(io("write", &p))?;
    }
    let ns = |name: &str| {
        let p = proc(&format!("ns/{name}"));
        open(p.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open", &p))
    };
    Ok(Namespaces { user: ns("user")?, net: ns("net")? })
}

/// `makeNamespaces` (see the module): the namespaces first, the helper started on them at once, then
/// the runtime gets them (it connects before its clone) and hands back its child's pidfd; the
/// helper's readiness is awaited last, so its start overlaps the runtime's whole start.
pub(crate) fn run(mut c: KeeperConfig, sfd: SignalFd) -> i32 {
    let path = c.socket.clone().expect("checked");
    let stdin = std::io::stdin();
    let early = |c: &KeeperConfig, e: &RootlessError| fail_early(c, e, sfd.as_fd(), stdin.as_fd());
    let listener = match make_dir(&c).and_then(|_| handover::listen_at(&path)) {
        Ok(l) => l,
        Err(e) => return early(&c, &e),
    };
    let made = make().and_then(|ns| spawn_helper(&c, Some((ns.user.as_fd(), ns.net.as_fd()))).map(|s| (ns, s)));
    let (ns, spawned) = match made {
        Ok(x) => x,
        Err(e) => {
            // The runtime waits for the namespaces: it gets an end of file at once, not a timeout.
            let _ = handover::accept_runtime(&listener, &path, sfd.as_fd(), stdin.as_fd());
            return early(&c, &e);
        }
    };
    let handed = handover::serve(&listener, &path, sfd.as_fd(), stdin.as_fd(), ns.user.as_fd(), ns.net.as_fd());
    drop(listener);
    let mut spawned = spawned;
    let container = match handed {
        Ok(Some(h)) => {
            c.pid = h.pid;
            h.pidfd
        }
        Ok(None) => {
            stop(&mut spawned.child);
            cleanup(&c);
            return report_error(&RootlessError::Helper { op: "wait for the container", path, detail: "the caller gave up before the runtime made it (it failed, or was stopped)".into() });
        }
        Err(e) => {
            stop(&mut spawned.child);
            return early(&c, &e);
        }
    };
    // The helper and the container hold the namespaces now; ours would only pin them.
    drop(ns);
    let (child, helper_fd, _exit_fd) = match spawned.wait_ready(&c) {
        Ok(x) => x,
        Err(e) => return early(&c, &e),
    };
    serve_container(c, container, sfd, child, helper_fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsbox_core::namespaces::nsfs;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn makes_a_user_namespace_mapping_us_to_root_and_a_network_namespace_it_owns() {
        let ns = make().unwrap();
        assert_eq!(nsfs::ns_type(ns.user.as_fd()), libc::CLONE_NEWUSER);
        assert_eq!(nsfs::ns_type(ns.net.as_fd()), libc::CLONE_NEWNET);
        assert_eq!(nsfs::owner_uid(ns.user.as_fd()), Some(geteuid().as_raw()), "the namespace is ours");
        let own = std::fs::metadata("/proc/self/ns/user").unwrap().ino();
        let user = std::fs::File::from(ns.user.as_fd().try_clone_to_owned().unwrap()).metadata().unwrap().ino();
        assert_ne!(user, own, "a new user namespace");
        let owner_ns = nsfs::owning_user(ns.net.as_fd()).expect("NS_GET_USERNS");
        assert_eq!(std::fs::File::from(owner_ns).metadata().unwrap().ino(), user, "the network namespace belongs to it");
    }
}
