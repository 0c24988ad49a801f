//! One rule list onto every cgroup a container got: the v1 `devices` hierarchy's directory gets
//! the rule files, a cgroup2 directory gets the BPF program. On a hybrid host (v1 controllers plus
//! a cgroup2 mount such as /sys/fs/cgroup/unified) a container has both, and both are applied; the
//! kernel checks an access against each (see the module doc).

use std::path::{Path, PathBuf};

use nsbox_core::devices::DeviceRule;

use super::error::Result;

/// Where the rules went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// v1 devices cgroups, written with [`super::apply_v1`].
    pub v1: Vec<PathBuf>,
    /// cgroup2 directories, each with our program attached.
    pub v2: Vec<PathBuf>,
}

impl Applied {
    pub fn is_empty(&self) -> bool {
        self.v1.is_empty() && self.v2.is_empty()
    }
}

/// Applies `rules` to each of `dirs` that can hold device rules: a v1 devices cgroup (it has
/// `devices.allow`) or a cgroup2 directory (it has `cgroup.controllers`); other v1 hierarchies are
/// skipped. Stops at the first failure. The program's fd is closed on return: the attachment keeps
/// the program alive until the cgroup is removed, which detaches it.
pub fn apply_to_cgroups<P: AsRef<Path>>(dirs: &[P], rules: &[DeviceRule]) -> Result<Applied> {
    let mut applied = Applied::default();
    for dir in dirs {
        let dir = dir.as_ref();
        if dir.join("devices.allow").exists() {
            super::apply_v1(dir, rules)?;
            applied.v1.push(dir.to_path_buf());
        } else if dir.join("cgroup.controllers").exists() {
            drop(super::attach(dir, rules)?);
            applied.v2.push(dir.to_path_buf());
        }
    }
    Ok(applied)
}
