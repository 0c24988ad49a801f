//! A cgroup of the container's own in every hierarchy where we may create one, always nested below
//! the runtime's own cgroup (never moving or deleting anything we did not make); processes that
//! join a running container (exec) are placed in the same cgroups.

use std::path::{Path, PathBuf};

use crate::hierarchy::hierarchies;
use crate::CgroupError;

pub struct Cgroups {
    pub dirs: Vec<PathBuf>,
    /// Those of `dirs` that existed before (a `cgroupsPath` naming an existing cgroup): joined,
    /// never removed.
    pub preexisting: Vec<PathBuf>,
}

/// Moves `pid` into each of `dirs`, in order.
pub fn join_dirs<P: AsRef<Path>>(dirs: &[P], pid: u32) -> Result<(), CgroupError> {
    for dir in dirs {
        let procs = dir.as_ref().join("cgroup.procs");
        std::fs::write(&procs, pid.to_string()).map_err(|e| CgroupError::io("write cgroup.procs", &procs, &e))?;
    }
    Ok(())
}

/// Our own cgroup in the hierarchy `ctrls` (as /proc/self/cgroup names it), relative to its root.
fn own_cgroup(own: &str, ctrls: &str) -> Option<String> {
    own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, c, path) = (parts.next()?, parts.next()?, parts.next()?);
        (c == ctrls).then(|| path.trim_start_matches('/').to_string())
    })
}

impl Cgroups {
    /// Creates `nsbox-<id>` below our own cgroup in each hierarchy we can write to. cpuset is left
    /// out: a new v1 cpuset cgroup is unusable until cpus/mems are copied in.
    pub fn create(id: &str) -> Cgroups {
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let name = format!("nsbox-{}", &id[..id.len().min(32)]);
        let mut dirs = Vec::new();
        for (ctrls, mount) in hierarchies() {
            if ctrls.split(',').any(|c| c == "cpuset") {
                continue;
            }
            let Some(rel) = own_cgroup(&own, &ctrls) else { continue };
            let dir = mount.join(rel).join(&name);
            // Not allowed (rootless, read-only cgroupfs): the container simply shares ours.
            if std::fs::create_dir(&dir).is_ok() {
                dirs.push(dir);
            }
        }
        Cgroups { dirs, preexisting: Vec::new() }
    }

    /// The config's `linux.cgroupsPath`, in every hierarchy (cpuset too, its cpus and mems copied
    /// down as runc does, so engines find the container below their cgroup parent everywhere). An
    /// absolute path is taken from each hierarchy's root as this process sees it (its cgroup
    /// namespace), a relative one from our own cgroup. Missing levels are created; a hierarchy
    /// we may not write (rootless, read-only cgroupfs) is left out, as in [`Cgroups::create`].
    pub fn create_at(path: &str) -> Result<Cgroups, CgroupError> {
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let rel = Path::new(path.trim_start_matches('/'));
        if rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) || rel.as_os_str().is_empty() {
            let e = std::io::Error::from_raw_os_error(libc::EINVAL);
            return Err(CgroupError::io("linux.cgroupsPath", Path::new(path), &e));
        }
        let (mut dirs, mut preexisting) = (Vec::new(), Vec::new());
        for (ctrls, mount) in hierarchies() {
            let base = if path.starts_with('/') {
                mount.clone()
            } else {
                let Some(o) = own_cgroup(&own, &ctrls) else { continue };
                mount.join(o)
            };
            let dir = base.join(rel);
            if dir.is_dir() {
                preexisting.push(dir.clone());
                dirs.push(dir);
                continue;
            }
            let cpuset = ctrls.split(',').any(|c| c == "cpuset");
            match mkdir_down(&base, rel, cpuset) {
                Ok(()) => dirs.push(dir),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM | libc::EROFS)) => {}
                Err(e) => return Err(CgroupError::io("mkdir", &dir, &e)),
            }
        }
        Ok(Cgroups { dirs, preexisting })
    }

    pub fn join(&self, pid: i32) -> Result<(), CgroupError> {
        join_dirs(&self.dirs, pid as u32)
    }

    /// Removes every cgroup we made, retrying briefly while the kernel finishes reaping; returns
    /// every failure rather than stopping at the first.
    pub fn remove(&self) -> Vec<CgroupError> {
        let mut errors = Vec::new();
        for dir in self.dirs.iter().rev().filter(|d| !self.preexisting.contains(d)) {
            let mut last = Ok(());
            for attempt in 0..50 {
                last = std::fs::remove_dir(dir);
                match &last {
                    Ok(()) => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(2 * (attempt + 1)))
                    }
                    Err(_) => break,
                }
            }
            if let Err(e) = last {
                if e.kind() != std::io::ErrorKind::NotFound {
                    errors.push(CgroupError::io("rmdir", dir, &e));
                }
            }
        }
        errors
    }
}

/// mkdir of each missing level of `rel` below `base`; in a v1 cpuset hierarchy each new level gets
/// its parent's cpus and mems (it takes no task until they are set).
fn mkdir_down(base: &Path, rel: &Path, cpuset: bool) -> std::io::Result<()> {
    let mut dir = base.to_path_buf();
    for part in rel.components() {
        let parent = dir.clone();
        dir.push(part);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        if cpuset {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let v = std::fs::read_to_string(parent.join(f))?;
                std::fs::write(dir.join(f), v.trim())?;
            }
        }
    }
    Ok(())
}
