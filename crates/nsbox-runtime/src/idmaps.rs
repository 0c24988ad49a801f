//! Writes the container's uid/gid maps from the parent, while the child waits. Root writes any map
//! itself; an unprivileged caller can write only "my own id → something" and needs the setuid
//! helpers newuidmap/newgidmap (from /etc/subuid, /etc/subgid) for anything more.

use std::process::Command;

use nix::errno::Errno;
use nix::unistd::{getegid, geteuid};
use nsbox_core::idmap::{to_kernel_text, IdMapping};

use crate::error::{Result, RtError};

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
    let out = cmd.output().map_err(|e| {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        RtError::sys_msg(which.helper(), which.helper(), errno, format!("cannot run {} (install uidmap): {e}", which.helper()))
    })?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(RtError::sys_msg(
            which.helper(),
            format!("/proc/{pid}/{}", which.file()),
            Errno::EPERM,
            format!("{} exited with {}: {why}", which.helper(), out.status),
        ));
    }
    Ok(())
}

fn write_file(pid: i32, name: &str, text: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{name}");
    std::fs::write(&path, text).map_err(|e| {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        let hint = if name.ends_with("_map") { format!("the kernel refused map {:?}", text.trim_end()) } else { String::new() };
        RtError::sys_msg(format!("write {name}"), path, errno, if hint.is_empty() { errno.desc().to_string() } else { hint })
    })
}
