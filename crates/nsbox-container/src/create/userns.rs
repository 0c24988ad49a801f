//! Running a piece of work as root of a fresh user namespace with given maps, for a rootless image
//! store whose files belong to the user's subordinate ids (docs/images.md): unpacking a layer so a
//! file owned by 1000 in the tar is 1000 inside, and removing such files (the host user may not
//! empty a directory owned by a subordinate id; root of the namespace may). Only the runtime and
//! the monitor call this — single-threaded processes, so the fork without exec is safe; the Node
//! addon never does (it runs `nsbox-runtime unpack-layer` / `store-remove`).

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult};
use nsbox_core::idmap::IdMapping;

use super::idmaps;

#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("user namespace: {op}: {}: {}", nsbox_core::error::errno_name(*errno), errno.desc())]
    Sys { op: &'static str, errno: Errno },
    #[error("user namespace: {0}")]
    Maps(#[from] idmaps::IdMapError),
    #[error("user namespace: the child could not make one (unshare(CLONE_NEWUSER) failed)")]
    Unshare,
}

/// Runs `work` in a forked child that is root of a new user namespace with `uid_map`/`gid_map`
/// (written from here, through newuidmap/newgidmap when they go beyond the caller's own id);
/// returns the child's exit code (`work`'s return value).
pub fn run_as_root(uid_map: &[IdMapping], gid_map: &[IdMapping], work: impl FnOnce() -> i32) -> Result<i32, UsernsError> {
    let sys = |op| move |errno| UsernsError::Sys { op, errno };
    let (ready_r, ready_w) = pipe().map_err(sys("pipe"))?;
    let (go_r, go_w) = pipe().map_err(sys("pipe"))?;
    // SAFETY: our callers are single-threaded processes (the runtime, the monitor): the child may
    // allocate and run any code.
    match unsafe { fork() }.map_err(sys("fork"))? {
        ForkResult::Child => {
            drop((ready_r, go_w));
            let code = child(ready_w, go_r, work);
            let _ = std::io::stdout().flush();
            // SAFETY: ends the forked child without running the parent's exit handlers twice.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop((ready_w, go_r));
            let mut b = [0u8; 1];
            let unshared = std::fs::File::from(ready_r).read(&mut b).ok() == Some(1) && b[0] == b'R';
            let mapped = if unshared { idmaps::write_all(child.as_raw(), uid_map, gid_map).map_err(UsernsError::from) } else { Err(UsernsError::Unshare) };
            let _ = std::fs::File::from(go_w).write_all(if mapped.is_ok() { b"G" } else { b"X" });
            let status = loop {
                match waitpid(child, None) {
                    Err(Errno::EINTR) => continue,
                    r => break r.map_err(sys("waitpid"))?,
                }
            };
            mapped?;
            Ok(match status {
                WaitStatus::Exited(_, c) => c,
                WaitStatus::Signaled(_, s, _) => 128 + s as i32,
                _ => 1,
            })
        }
    }
}

fn child(ready: OwnedFd, go: OwnedFd, work: impl FnOnce() -> i32) -> i32 {
    let mut ready = std::fs::File::from(ready);
    if unshare(CloneFlags::CLONE_NEWUSER).is_err() {
        let _ = ready.write_all(b"E");
        return 125;
    }
    let _ = ready.write_all(b"R");
    let mut b = [0u8; 1];
    if std::fs::File::from(go).read(&mut b).ok() != Some(1) || b[0] != b'G' {
        return 125;
    }
    // The maps are written: our ids are 0 inside, and the namespace's creator holds every capability in it.
    work()
}
