//! Docker's masked paths (hidden) and read-only paths, inside the new root before pivot_root.
//!
//! Each path is looked up without following any symlink (resolve.rs): a rootfs whose `proc` points
//! elsewhere is refused, never quietly left unmasked. A mask that cannot be applied fails the
//! start; the one exception is a path this kernel does not have (/proc/timer_stats, /proc/scsi …),
//! and "does not have" is only believed when the directory it would be in is on procfs (sysfs
//! for /sys): a /proc that is the rootfs's own directory is an error, not a list of skips. Paths
//! outside /proc and /sys (an OCI bundle's own) that do not exist have nothing to hide: skipped,
//! as runc does, once the way to them is free of symlinks.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, major, minor, Mode, SFlag};

use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use super::resolve::{self, open_strict, Refused};
use crate::error::sys_wire;
use crate::syscalls::*;

/// A masked or read-only path could not be hidden or made read-only.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    /// The errno, with what it means here (`/proc is a symlink in the rootfs (-> dev); …`).
    #[error("{op}({path}): {}: {why}", errno_name(*errno))]
    Explained { op: &'static str, path: String, errno: Errno, why: String },
}

impl MaskError {
    pub fn to_wire(&self) -> WireError {
        match self {
            MaskError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            MaskError::Explained { op, path, errno, why } => sys_wire(op, path, *errno, why),
        }
    }
}

type Result<T> = std::result::Result<T, MaskError>;

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> MaskError {
    let path = path.to_string();
    move |errno| MaskError::Sys { op, path, errno }
}

fn explained(op: &'static str, path: &str, errno: Errno, why: impl Into<String>) -> MaskError {
    MaskError::Explained { op, path: path.to_string(), errno, why: why.into() }
}

/// The host's /dev/null, opened once before anything is mounted and checked to be the null
/// device: masks bind this descriptor, never a path the rootfs could have a say in.
pub struct DevNull(OwnedFd);

impl DevNull {
    pub fn open() -> Result<DevNull> {
        let fd = open("/dev/null", OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open", "/dev/null"))?;
        let st = fstat(&fd).map_err(sys("fstat", "/dev/null"))?;
        let is_char = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR;
        if !is_char || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3 {
            let what = format!("/dev/null is not the null device (char 1:3) but mode {:#o} rdev {}:{}; refusing to mask with it", st.st_mode, major(st.st_rdev), minor(st.st_rdev));
            return Err(explained("open", "/dev/null", Errno::ENODEV, what));
        }
        Ok(DevNull(fd))
    }

    /// A fresh detached bind of /dev/null, one per masked file.
    fn tree(&self) -> Result<OwnedFd> {
        open_tree(Some(self.0.as_raw_fd()), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH).map_err(sys("open_tree", "/dev/null"))
    }
}

pub fn apply(root: &OwnedFd, null: &DevNull, masked: &[String], readonly: &[String]) -> Result<()> {
    for path in masked {
        let Some(target) = locate(root, path, "mask")? else { continue };
        let st = fstat(&target).map_err(sys("fstat", path))?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
            let at = format!("/proc/self/fd/{}", target.as_raw_fd());
            mount(Some("tmpfs"), at.as_str(), Some("tmpfs"), MsFlags::MS_RDONLY, Some("size=0")).map_err(sys("mask", path))?;
        } else {
            move_mount_fd(&null.tree()?, &target).map_err(sys("mask", path))?;
        }
    }
    for path in readonly {
        let Some(target) = locate(root, path, "make read-only")? else { continue };
        let tree = open_tree(Some(target.as_raw_fd()), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH)
            .map_err(sys("open_tree", path))?;
        mount_setattr_fd(&tree, MOUNT_ATTR_RDONLY, true).map_err(sys("mount_setattr ro", path))?;
        move_mount_fd(&tree, &target).map_err(sys("move_mount", path))?;
    }
    Ok(())
}

/// The path inside the root, looked up without symlinks, its directory on the filesystem it
/// belongs to; None when the kernel does not have it.
fn locate(root: &OwnedFd, path: &str, doing: &'static str) -> Result<Option<OwnedFd>> {
    let op = if doing == "mask" { "mask" } else { "readonly" };
    let rel = resolve::relative(path);
    let found = match open_strict(root, &rel, OFlag::empty()) {
        Ok(fd) => Some(fd),
        Err(Refused::Errno(Errno::ENOENT)) => None,
        Err(Refused::Link(l)) => return Err(explained(op, path, Errno::ELOOP, l.refusal(&format!("{doing} {path} through it")))),
        Err(Refused::Errno(e)) => return Err(sys("open", path)(e)),
    };
    check_home(root, &rel, path, op, found.is_some())?;
    Ok(found)
}

/// The nearest existing directory above `rel` is on procfs (for /proc/…) or sysfs (for /sys/…).
fn check_home(root: &OwnedFd, rel: &str, path: &str, op: &'static str, exists: bool) -> Result<()> {
    let Some((fs, magics)) = resolve::home_of(rel) else { return Ok(()) };
    let mut dir = resolve::parent(rel);
    while let Some(d) = dir {
        match open_strict(root, d, OFlag::O_DIRECTORY) {
            Ok(fd) => {
                let got = resolve::magic(&fd).map_err(sys("statfs", format!("/{d}")))?;
                if magics.contains(&got) {
                    return Ok(());
                }
                let shown = if d == "." { "/".to_string() } else { format!("/{d}") };
                let done = if op == "mask" { "masked" } else { "made read-only" };
                let why = if exists {
                    format!("{shown} is not a {fs} (statfs magic {got:#x}), so {path} is not the kernel's; refusing to start")
                } else {
                    format!("{path} is missing and {shown} is not a {fs} (statfs magic {got:#x}), so it cannot be {done}; refusing to start")
                };
                return Err(explained(op, path, Errno::EXDEV, why));
            }
            Err(Refused::Errno(Errno::ENOENT)) => dir = resolve::parent(d),
            Err(Refused::Link(l)) => return Err(explained(op, path, Errno::ELOOP, l.refusal(&format!("look for {path} through it")))),
            Err(Refused::Errno(e)) => return Err(sys("open", format!("/{d}"))(e)),
        }
    }
    Ok(())
}
