//! Every cgroup write of nsbox: finding the hierarchies, placing a container (and the processes
//! that join it later) in cgroups of its own, freezing and thawing them, killing what is in them
//! and removing them. It knows cgroup directories only, never a container's state, so the callers
//! decide which cgroups are a container's.

use std::path::Path;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

pub mod devices;
mod freezer;
mod hierarchy;
mod kill;
mod oom;
mod placement;
pub mod resources;
pub mod stats;

pub use freezer::{Freezer, FREEZE_TIMEOUT};
pub use hierarchy::kinds_of;
pub use kill::{kill_cgroup, remove_cgroup};
pub use oom::oom_kills;
pub use placement::{join_dirs, remove_parents, Cgroups, CgroupsPath};

/// Writing, reading or removing one of the container's cgroups failed (creating one may fail
/// quietly), or the kernel did not finish freezing it.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("pause({path}): ETIMEDOUT: not frozen after {} s", FREEZE_TIMEOUT.as_secs())]
    FreezeTimeout { path: String },
    /// `linux.cgroupsPath` names a cgroup that exists: not ours, so not ours to use or remove.
    #[error("mkdir({path}): EEXIST: {EXISTS}")]
    Exists { path: String },
}

impl CgroupError {
    pub fn to_wire(&self) -> WireError {
        match self {
            CgroupError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            CgroupError::FreezeTimeout { path } => sys_wire("pause", path, Errno::ETIMEDOUT, "the kernel did not finish freezing"),
            CgroupError::Exists { path } => sys_wire("mkdir", path, Errno::EEXIST, EXISTS),
        }
    }

    fn io(op: &'static str, path: &Path, e: &std::io::Error) -> CgroupError {
        // EIO stands in for the rare io::Error that carries no errno.
        CgroupError::Sys { op, path: path.display().to_string(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
    }
}

const EXISTS: &str = "the cgroup already exists; the runtime only uses cgroups it creates, so that delete never removes someone else's";

/// nsbox-container's `sys_wire`, which this crate cannot depend on: an empty path is left out.
fn sys_wire(op: &str, path: &str, errno: Errno, msg: &str) -> WireError {
    WireError::from_errno(op, (!path.is_empty()).then(|| path.to_string()), errno, msg)
}
