//! A cgroup of the container's own in every hierarchy where we may create one, always nested below
//! the runtime's own cgroup (never moving or deleting anything we did not make). Hybrid layouts
//! (v1 controllers plus a cgroup2 mount) and pure v2 are both handled: we follow /proc/self/cgroup.

use std::path::PathBuf;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::{errno_of, sys_wire};

/// Joining or removing one of the container's cgroups failed (creating one may fail quietly).
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl CgroupError {
    pub fn to_wire(&self) -> WireError {
        match self {
            CgroupError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }

    fn io(op: &'static str, path: &std::path::Path, e: &std::io::Error) -> CgroupError {
        CgroupError::Sys { op, path: path.display().to_string(), errno: errno_of(e) }
    }
}

const NOT_CONTROLLERS: [&str; 10] = [
    "rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods", "memory_localevents",
    "memory_recursiveprot", "nsdelegate",
];

pub struct Cgroups {
    pub dirs: Vec<PathBuf>,
}

/// Hierarchy mount points from /proc/self/mountinfo, keyed the way /proc/self/cgroup names them.
fn hierarchies() -> Vec<(String, PathBuf)> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return vec![] };
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mut r = right.split_whitespace();
        let fstype = r.next().unwrap_or("");
        let super_opts = r.nth(1).unwrap_or("");
        let mount_point = left.split_whitespace().nth(4).unwrap_or("");
        let mount_root = left.split_whitespace().nth(3).unwrap_or("");
        if mount_root != "/" {
            continue;
        }
        match fstype {
            "cgroup2" => out.push((String::new(), PathBuf::from(mount_point))),
            "cgroup" => {
                let ctrls: Vec<&str> = super_opts
                    .split(',')
                    .filter(|o| o.starts_with("name=") || !(o.contains('=') || NOT_CONTROLLERS.contains(o)))
                    .collect();
                out.push((ctrls.join(","), PathBuf::from(mount_point)));
            }
            _ => {}
        }
    }
    out
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
            let Some(rel) = own.lines().find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, c, path) = (parts.next()?, parts.next()?, parts.next()?);
                (c == ctrls).then(|| path.trim_start_matches('/').to_string())
            }) else {
                continue;
            };
            let dir = mount.join(rel).join(&name);
            // Not allowed (rootless, read-only cgroupfs): the container simply shares ours.
            if std::fs::create_dir(&dir).is_ok() {
                dirs.push(dir);
            }
        }
        Cgroups { dirs }
    }

    pub fn join(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            let procs = dir.join("cgroup.procs");
            std::fs::write(&procs, pid.to_string()).map_err(|e| CgroupError::io("write cgroup.procs", &procs, &e))?;
        }
        Ok(())
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
