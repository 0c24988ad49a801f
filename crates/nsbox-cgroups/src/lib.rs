//! Every cgroup write of nsbox: finding the hierarchies, placing a container (and the processes
//! that join it later) in cgroups of its own, freezing and thawing them, killing what is in them
//! and removing them. It knows cgroup directories only, never a container's state, so the callers
//! decide which cgroups are a container's.

use std::path::Path;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

mod delegate;
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
pub use oom::{oom_kills, OomWatch};
pub use placement::{join_dirs, remove_parents, Cgroups, CgroupsPath, Record};

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
    /// A limit needs a cgroup v2 controller the container's parent cgroup cannot give it.
    #[error("enable controller {controller}({path}): ERR_RUNTIME: {why}")]
    NotDelegated { controller: String, path: String, why: String },
}

impl CgroupError {
    pub fn to_wire(&self) -> WireError {
        match self {
            CgroupError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            CgroupError::FreezeTimeout { path } => sys_wire("pause", path, Errno::ETIMEDOUT, "the kernel did not finish freezing"),
            CgroupError::Exists { path } => sys_wire("mkdir", path, Errno::EEXIST, EXISTS),
            CgroupError::NotDelegated { controller, path, why } => {
                WireError::runtime(format!("enable controller {controller}"), Some(path.clone()), why.clone())
            }
        }
    }

    fn io(op: &'static str, path: &Path, e: &std::io::Error) -> CgroupError {
        // EIO stands in for the rare io::Error that carries no errno.
        CgroupError::Sys { op, path: path.display().to_string(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
    }
}

/// A test-only pause point: with `NSBOX_TEST_STOP_AT=<step>` in its environment the process stops
/// itself (SIGSTOP) at that step of creating a container's cgroups, so a test can SIGKILL it exactly
/// there (tests/resources/bundle.test.ts). Without the variable, or with another step, it does nothing.
pub fn test_stop_at(step: &str) {
    if std::env::var_os("NSBOX_TEST_STOP_AT").is_some_and(|v| v == step) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    }
}

const EXISTS: &str = "the cgroup already exists; the runtime only uses cgroups it creates, so that delete never removes someone else's";

/// nsbox-container's `sys_wire`, which this crate cannot depend on: an empty path is left out.
fn sys_wire(op: &str, path: &str, errno: Errno, msg: &str) -> WireError {
    WireError::from_errno(op, (!path.is_empty()).then(|| path.to_string()), errno, msg)
}
