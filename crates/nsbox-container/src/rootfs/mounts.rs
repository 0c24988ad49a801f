//! The spec's mounts, each resolved inside the new root without following symlinks out of it:
//! a captured bind source, a cgroup or sysfs instance (or the host's, where the kernel will not
//! make a fresh one), or any other filesystem.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;

use super::{explained, sys, Result};
use crate::spec::MountEntry;
use crate::syscalls::*;

pub(super) fn mount_one(root: &OwnedFd, m: &MountEntry, source: Option<OwnedFd>, own_netns: bool) -> Result<()> {
    // The captured tree, not the path: the path may be hidden by the staging tmpfs by now.
    let is_file = source.as_ref().is_some_and(|t| {
        nix::sys::stat::fstat(t).map(|st| st.st_mode & libc::S_IFMT != libc::S_IFDIR).unwrap_or(false)
    });
    let target = ensure_target(root, &m.destination, is_file)?;
    if let Some(tree) = source {
        if m.readonly {
            mount_setattr_fd(&tree, MOUNT_ATTR_RDONLY, m.recursive).map_err(sys("mount_setattr ro", &m.source))?;
        }
        return move_mount_fd(&tree, &target).map_err(sys("move_mount", &m.destination));
    }
    let mut flags = m.flags;
    if m.readonly {
        flags |= MsFlags::MS_RDONLY;
    }
    if m.kind == "cgroup" || m.kind == "cgroup2" {
        return mount_cgroup(m, &target);
    }
    if m.kind == "sysfs" && !own_netns {
        // A fresh sysfs belongs to a network namespace; sharing the host's, we share its /sys,
        // read-only, as runc does.
        return bind_host(&m.destination, &target, true);
    }
    let at = format!("/proc/self/fd/{}", target.as_raw_fd());
    let data = (!m.data.is_empty()).then_some(m.data.as_str());
    match mount(Some(m.source.as_str()), at.as_str(), Some(m.kind.as_str()), flags, data) {
        Ok(()) => Ok(()),
        // Without a pid (proc) or network (sysfs) namespace of our own the kernel won't mount a
        // fresh instance in a user namespace; docker-rootless binds the host's instead.
        Err(Errno::EPERM | Errno::EBUSY) if matches!(m.kind.as_str(), "proc" | "sysfs") => bind_host(&m.destination, &target, m.kind == "sysfs"),
        Err(e) => Err(explained("mount", &m.destination, e, format!("mount {} on {}: {}", m.kind, m.destination, e.desc()))),
    }
}

/// OCI's `cgroup` mount: a cgroup2 instance where the host is unified (inside a cgroup namespace it
/// shows the container's own cgroup as its root); on v1 or hybrid hosts the host's hierarchy,
/// read-only, since a v1 tree cannot be re-rooted without one mount per controller.
fn mount_cgroup(m: &MountEntry, target: &OwnedFd) -> Result<()> {
    let unified = nix::sys::statfs::statfs("/sys/fs/cgroup").map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC).unwrap_or(false);
    if !unified {
        return bind_host("/sys/fs/cgroup", target, true);
    }
    let at = format!("/proc/self/fd/{}", target.as_raw_fd());
    let flags = m.flags | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | if m.readonly { MsFlags::MS_RDONLY } else { MsFlags::empty() };
    match mount(Some("cgroup2"), at.as_str(), Some("cgroup2"), flags, None::<&str>) {
        Ok(()) => Ok(()),
        Err(Errno::EPERM | Errno::EBUSY) => bind_host("/sys/fs/cgroup", target, true),
        Err(e) => Err(explained("mount", &m.destination, e, format!("mount cgroup2 on {}: {}", m.destination, e.desc()))),
    }
}

fn bind_host(path: &str, target: &OwnedFd, readonly: bool) -> Result<()> {
    let tree = open_tree(None, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE).map_err(sys("open_tree", path))?;
    if readonly {
        mount_setattr_fd(&tree, MOUNT_ATTR_RDONLY, true).map_err(sys("mount_setattr ro", path))?;
    }
    move_mount_fd(&tree, target).map_err(sys("move_mount", path))
}

/// An O_PATH descriptor for `dest` inside `root`, creating missing directories (or, for file
/// binds, an empty file) without ever resolving outside `root`.
pub fn ensure_target(root: &OwnedFd, dest: &str, is_file: bool) -> Result<OwnedFd> {
    let rel = dest.trim_start_matches('/');
    let flags = OFlag::O_PATH.bits();
    match open_in_root(root, if rel.is_empty() { "." } else { rel }, flags) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(sys("open", dest)(e)),
    }
    let (parent, name) = match rel.rsplit_once('/') {
        Some((p, n)) => (ensure_target(root, p, false)?, n),
        None => (open_in_root(root, ".", flags).map_err(sys("open", "/"))?, rel),
    };
    // The parent was resolved inside the root; `name` is one component, created in place.
    let created = if is_file {
        nix::fcntl::openat(&parent, name, OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::from_bits_truncate(0o644))
            .map(drop)
    } else {
        nix::sys::stat::mkdirat(&parent, name, Mode::from_bits_truncate(0o755))
    };
    match created {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(Errno::EROFS) => {
            return Err(explained("mkdir", dest, Errno::EROFS, "the mount point does not exist and the root is read-only"))
        }
        Err(e) => return Err(sys("mkdir", dest)(e)),
    }
    open_in_root(root, rel, flags).map_err(sys("open", dest))
}
