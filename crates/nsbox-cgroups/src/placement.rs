//! A cgroup of the container's own in every hierarchy where we may create one, always nested below
//! the runtime's own cgroup (never moving or deleting anything we did not make); processes that
//! join a running container (exec) are placed in the same cgroups.

use std::path::{Path, PathBuf};

use crate::hierarchy::hierarchies;
use crate::CgroupError;

pub struct Cgroups {
    pub dirs: Vec<PathBuf>,
}

/// Moves `pid` into each of `dirs`, in order.
pub fn join_dirs<P: AsRef<Path>>(dirs: &[P], pid: u32) -> Result<(), CgroupError> {
    for dir in dirs {
        let procs = dir.as_ref().join("cgroup.procs");
        std::fs::write(&procs, pid.to_string()).map_err(|e| CgroupError::io("write cgroup.procs", &procs, &e))?;
    }
    Ok(())
}

impl Cgroups {
    /// Creates `nsbox-<id>` below our own cgroup in each hierarchy we can write to. cpuset is left
    /// out: a new v1 cpuset cgroup is unusable until cpus/mems are copied in. One that exists
    /// already is an error (another container with this id, under another state root, has it:
    /// sharing it would mix two containers' processes, device rules and limits).
    pub fn create(id: &str) -> Result<Cgroups, CgroupError> {
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let name = format!("nsbox-{}", &id[..id.len().min(32)]);
        let mut dirs = Vec::new();
        for (ctrls, mount) in hierarchies() {
            if ctrls.split(',').any(|c| c == "cpuset") {
                continue;
            }
            let Some(rel) = own.lines().find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, c, path) = (parts.next()?, parts.next()?, parts.next()?);
                (c == ctrls).then(|| path.trim_start_matches('/').to_string())
            }) else {
                continue;
            };
            let dir = mount.join(rel).join(&name);
            match std::fs::create_dir(&dir) {
                Ok(()) => dirs.push(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // Ours so far go again; theirs stays.
                    let _ = Cgroups { dirs }.remove();
                    return Err(CgroupError::io("mkdir cgroup", &dir, &e));
                }
                // Not allowed (rootless, read-only cgroupfs): the container simply shares ours.
                Err(_) => {}
            }
        }
        Ok(Cgroups { dirs })
    }

    pub fn join(&self, pid: i32) -> Result<(), CgroupError> {
        join_dirs(&self.dirs, pid as u32)
    }

    /// Removes every cgroup we made, retrying briefly while the kernel finishes reaping; returns
    /// every failure rather than stopping at the first.
    pub fn remove(&self) -> Vec<CgroupError> {
        let mut errors = Vec::new();
        for dir in self.dirs.iter().rev() {
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
