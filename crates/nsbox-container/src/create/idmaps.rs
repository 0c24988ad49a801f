//! Writes the container's uid/gid maps from the parent, while the child waits. Root writes any map
//! itself; an unprivileged caller can write only "my own id → something" and needs the setuid
//! helpers newuidmap/newgidmap (from /etc/subuid, /etc/subgid) for anything more.

use std::process::Command;

use nix::errno::Errno;
use nix::unistd::{getegid, geteuid};
use nsbox_core::error::errno_name;
use nsbox_core::idmap::{to_kernel_text, IdMapping};
use nsbox_core::WireError;

use crate::error::{errno_of, sys_wire};

#[derive(Debug, thiserror::Error)]
pub enum IdMapError {
    /// newuidmap/newgidmap could not be started (op and path both name the helper).
    #[error("{helper}({helper}): {}: cannot run {helper} (install uidmap): {detail}", errno_name(*errno))]
    Spawn { helper: &'static str, errno: Errno, detail: String },
    /// The helper ran and refused (no /etc/subuid entry, ...); its stderr is in `msg`.
    #[error("{helper}({path}): EPERM: {msg}")]
    Refused { helper: &'static str, path: String, msg: String },
    /// Writing /proc/PID/{uid_map,gid_map,setgroups} ourselves failed.
    #[error("write {file}({path}): {}: {msg}", errno_name(*errno))]
    Write { file: String, path: String, errno: Errno, msg: String },
}

impl IdMapError {
    pub fn to_wire(&self) -> WireError {
        match self {
            IdMapError::Spawn { helper, errno, detail } => {
                sys_wire(helper, helper, *errno, &format!("cannot run {helper} (install uidmap): {detail}"))
            }
            IdMapError::Refused { helper, path, msg } => sys_wire(helper, path, Errno::EPERM, msg),
            IdMapError::Write { file, path, errno, msg } => sys_wire(&format!("write {file}"), path, *errno, msg),
        }
    }
}

type Result<T> = std::result::Result<T, IdMapError>;

#[derive(Clone, Copy)]
enum Which {
    Uid,
    Gid,
}

impl Which {
    fn file(self) -> &'static str {
        match self {
            Which::Uid => "uid_map",
            Which::Gid => "gid_map",
        }
    }

    fn helper(self) -> &'static str {
        match self {
            Which::Uid => "newuidmap",
            Which::Gid => "newgidmap",
        }
    }
}

pub fn write_all(pid: i32, uid_map: &[IdMapping], gid_map: &[IdMapping]) -> Result<()> {
    let root = geteuid().is_root();
    let own_only = |maps: &[IdMapping], own: u32| maps.len() == 1 && maps[0].length == 1 && maps[0].outside == own;
    let uid_direct = root || own_only(uid_map, geteuid().as_raw());
    let gid_direct = root || own_only(gid_map, getegid().as_raw());
    if !root && gid_direct {
        // An unprivileged process may only write gid_map once setgroups is denied (user_namespaces(7)).
        write_file(pid, "setgroups", "deny")?;
    }
    write_map(pid, Which::Uid, uid_map, uid_direct)?;
    write_map(pid, Which::Gid, gid_map, gid_direct)
}

fn write_map(pid: i32, which: Which, maps: &[IdMapping], direct: bool) -> Result<()> {
    if maps.is_empty() {
        return Ok(());
    }
    if direct {
        return write_file(pid, which.file(), &to_kernel_text(maps));
    }
    let mut cmd = Command::new(which.helper());
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.inside.to_string(), m.outside.to_string(), m.length.to_string()]);
    }
    let out = cmd.output().map_err(|e| IdMapError::Spawn { helper: which.helper(), errno: errno_of(&e), detail: e.to_string() })?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(IdMapError::Refused {
            helper: which.helper(),
            path: format!("/proc/{pid}/{}", which.file()),
            msg: format!("{} exited with {}: {why}", which.helper(), out.status),
        });
    }
    Ok(())
}

fn write_file(pid: i32, name: &str, text: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{name}");
    std::fs::write(&path, text).map_err(|e| {
        let errno = errno_of(&e);
        let msg = if name.ends_with("_map") { format!("the kernel refused map {:?}", text.trim_end()) } else { errno.desc().to_string() };
        IdMapError::Write { file: name.to_string(), path, errno, msg }
    })
}
