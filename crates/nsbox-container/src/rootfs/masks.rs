//! Docker's masked paths (hidden) and read-only paths, inside the new root before pivot_root.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, SFlag};

use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::sys_wire;
use crate::syscalls::*;

/// A masked or read-only path could not be hidden or made read-only.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl MaskError {
    pub fn to_wire(&self) -> WireError {
        match self {
            MaskError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }
}

type Result<T> = std::result::Result<T, MaskError>;

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> MaskError {
    let path = path.to_string();
    move |errno| MaskError::Sys { op, path, errno }
}

pub fn apply(root: &OwnedFd, masked: &[String], readonly: &[String]) -> Result<()> {
    for path in masked {
        let Some(target) = existing(root, path)? else { continue };
        let at = format!("/proc/self/fd/{}", target.as_raw_fd());
        let is_dir = fstat(&target).map(|s| SFlag::from_bits_truncate(s.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR).unwrap_or(false);
        let r = if is_dir {
            mount(Some("tmpfs"), at.as_str(), Some("tmpfs"), MsFlags::MS_RDONLY, Some("size=0"))
        } else {
            mount(Some("/dev/null"), at.as_str(), None::<&str>, MsFlags::MS_BIND, None::<&str>)
        };
        r.map_err(sys("mask", path))?;
    }
    for path in readonly {
        let Some(target) = existing(root, path)? else { continue };
        let tree = open_tree(Some(target.as_raw_fd()), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH)
            .map_err(sys("open_tree", path))?;
        mount_setattr_fd(&tree, MOUNT_ATTR_RDONLY, true).map_err(sys("mount_setattr ro", path))?;
        move_mount_fd(&tree, &target).map_err(sys("move_mount", path))?;
    }
    Ok(())
}

/// The path inside the root, or None when the kernel does not have it (e.g. /proc/timer_stats).
fn existing(root: &OwnedFd, path: &str) -> Result<Option<OwnedFd>> {
    match open_in_root(root, path.trim_start_matches('/'), nix::fcntl::OFlag::O_PATH.bits()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(sys("open", path)(e)),
    }
}
