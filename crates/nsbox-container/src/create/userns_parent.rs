//! `org.nsbox.userns-parent` (spec/plan.rs): the container's user namespace is made as a child of
//! a given user namespace instead of the runtime's own. Used for rootless user-defined networks
//! (docs/networking.md): the user's network holder owns a user namespace U and the network
//! namespace with the bridges; a container whose user namespace is a child of U can be reached by a
//! process in U (which holds every capability over U's children it owns), so such a process can
//! create both ends of a veth, while the container's root holds no capability in U itself (a
//! process has capabilities only in its own user namespace and those below it).
//!
//! How: right before clone the runtime (single-threaded) joins U with setns, then clones as usual,
//! so every namespace clone makes belongs to the container's new user namespace, a child of U. The
//! container's id maps are given in the host's ids; from inside U they must be written in U's ids,
//! so they are translated through U's own maps (an id U does not map is refused). The runtime stays
//! in U for the rest of its life (a user namespace cannot be left): it is the same uid, and its
//! capabilities in U reach only U, the user's own namespaces below it and files of the user's own.

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::{setns, CloneFlags};
use nix::sys::stat::Mode;
use nsbox_core::error::errno_name;
use nsbox_core::idmap::IdMapping;
use nsbox_core::WireError;

use crate::error::sys_wire;

#[derive(Debug, thiserror::Error)]
pub enum UsernsParentError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("{op}({path}): ERR_INVALID_SPEC: {msg}")]
    Invalid { op: &'static str, path: String, msg: String },
}

impl UsernsParentError {
    pub fn to_wire(&self) -> WireError {
        match self {
            UsernsParentError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            UsernsParentError::Invalid { op, path, msg } => {
                let mut w = WireError::invalid_spec(*op, msg.clone());
                w.path = Some(path.clone());
                w
            }
        }
    }
}

type Result<T> = std::result::Result<T, UsernsParentError>;

/// The parent user namespace, opened and checked before anything is made.
pub struct Parent {
    fd: OwnedFd,
    path: String,
}

pub fn open_parent(path: &std::path::Path) -> Result<Parent> {
    let shown = path.display().to_string();
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|errno| UsernsParentError::Sys { op: "open parent user namespace", path: shown.clone(), errno })?;
    let kind = nsbox_core::namespaces::nsfs::ns_type(fd.as_fd());
    if kind != CloneFlags::CLONE_NEWUSER.bits() {
        return Err(UsernsParentError::Invalid { op: "open parent user namespace", path: shown, msg: "not a user namespace".into() });
    }
    Ok(Parent { fd, path: shown })
}

impl Parent {
    /// Joins it (for good) and returns the container's maps in its ids. The runtime must be
    /// single-threaded (setns of a user namespace requires it).
    pub fn enter(self, uid_map: &[IdMapping], gid_map: &[IdMapping]) -> Result<(Vec<IdMapping>, Vec<IdMapping>)> {
        setns(&self.fd, CloneFlags::CLONE_NEWUSER).map_err(|errno| UsernsParentError::Sys { op: "setns", path: self.path.clone(), errno })?;
        // Read from inside: a process reading its own namespace's map sees the parent's ids in the
        // second column, i.e. the host's ids we have to translate from.
        let uids = read_map("/proc/self/uid_map")?;
        let gids = read_map("/proc/self/gid_map")?;
        Ok((translate(uid_map, &uids, "uid", &self.path)?, translate(gid_map, &gids, "gid", &self.path)?))
    }
}

fn read_map(file: &str) -> Result<Vec<IdMapping>> {
    let text = std::fs::read_to_string(file).map_err(|e| UsernsParentError::Sys { op: "read", path: file.into(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let f: Vec<u32> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
            (f.len() == 3).then(|| IdMapping { inside: f[0], outside: f[1], length: f[2] })
        })
        .collect())
}

/// Each mapping's host range, rewritten in the parent's ids: it must lie within one of its ranges.
fn translate(maps: &[IdMapping], parent: &[IdMapping], what: &str, path: &str) -> Result<Vec<IdMapping>> {
    maps.iter()
        .map(|m| {
            let within = parent.iter().find(|p| m.outside >= p.outside && u64::from(m.outside) + u64::from(m.length) <= u64::from(p.outside) + u64::from(p.length));
            match within {
                Some(p) => Ok(IdMapping { inside: m.inside, outside: p.inside + (m.outside - p.outside), length: m.length }),
                None => Err(UsernsParentError::Invalid {
                    op: "map ids in the parent user namespace",
                    path: path.into(),
                    msg: format!("host {what}s {}..{} are not mapped in the user namespace the container's is made in (it maps {})", m.outside, u64::from(m.outside) + u64::from(m.length) - 1,
                        parent.iter().map(|p| format!("{}..{}", p.outside, u64::from(p.outside) + u64::from(p.length) - 1)).collect::<Vec<_>>().join(", ")),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(inside: u32, outside: u32, length: u32) -> IdMapping {
        IdMapping { inside, outside, length }
    }

    #[test]
    fn host_ids_become_the_parents() {
        let parent = [m(0, 1000, 1), m(1, 100000, 65536)];
        let got = translate(&[m(0, 1000, 1), m(1, 100010, 10)], &parent, "uid", "/p").unwrap();
        assert_eq!(got, vec![m(0, 0, 1), m(1, 11, 10)]);
        let e = translate(&[m(0, 1001, 1)], &parent, "uid", "/p").unwrap_err().to_string();
        assert!(e.contains("host uids 1001..1001 are not mapped"), "{e}");
    }
}
