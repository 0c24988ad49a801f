//! The spec's mounts, each resolved inside the new root: a captured bind source, a cgroup or sysfs
//! instance (or the host's, where the kernel will not make a fresh one), or any other filesystem.
//!
//! Where a mount goes is decided here (see resolve.rs): a filesystem the kernel makes (anything
//! but a bind) goes exactly where the spec says, with no symlink on the way, and is checked to be
//! there afterwards; a bind target follows symlinks inside the root, as docker's volumes do, but
//! one that is led into a kernel filesystem (/proc/sys, /sys, cgroups) is refused.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;

use super::resolve::{self, open_strict, Refused};
use super::{explained, sys, Result};
use crate::spec::MountEntry;
use crate::syscalls::*;

/// `mount proc`, `mount sysfs`, …: the step named in errors.
fn op_of(m: &MountEntry) -> &'static str {
    match m.kind.as_str() {
        _ if m.bind => "bind",
        "proc" => "mount proc",
        "sysfs" => "mount sysfs",
        "tmpfs" => "mount tmpfs",
        "devpts" => "mount devpts",
        "mqueue" => "mount mqueue",
        "cgroup" | "cgroup2" => "mount cgroup",
        _ => "mount",
    }
}

pub(super) fn mount_one(root: &OwnedFd, m: &MountEntry, source: Option<OwnedFd>, own_netns: bool) -> Result<()> {
    // The captured descriptor, not the path: the path may be hidden by the staging tmpfs by now.
    let is_file = source.as_ref().is_some_and(|t| {
        nix::sys::stat::fstat(t).map(|st| st.st_mode & libc::S_IFMT != libc::S_IFDIR).unwrap_or(false)
    });
    let op = op_of(m);
    if let Some(path) = source {
        let flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | if m.recursive { AT_RECURSIVE } else { 0 };
        let tree = open_tree(Some(path.as_raw_fd()), "", flags).map_err(|e| {
            explained("bind", &m.source, e, format!("cannot bind {} to {}: {}", m.source, m.destination, e.desc()))
        })?;
        let target = ensure_target(root, &m.destination, is_file, false, op)?;
        // A bind takes its flags from the source; the options are put on the copy, before it is
        // attached (rbind: on every mount of it), with mount_setattr.
        if m.attr_set | m.attr_clr != 0 {
            mount_setattr(&tree, m.attr_set, m.attr_clr, 0, m.recursive).map_err(sys("mount_setattr", &m.source))?;
        }
        move_mount_fd(&tree, &target).map_err(sys("move_mount", &m.destination))?;
        return after_mount(root, m, is_file, false, op);
    }
    let target = ensure_target(root, &m.destination, false, true, op)?;
    mount_fresh(m, &target, own_netns)?;
    verify(root, m, op)?;
    after_mount(root, m, false, true, op)
}

/// What is applied to a mount once it is in place: the recursive attributes (`rro`, …) and the
/// propagation (`rshared`, …), which mount(2) would otherwise have taken as filesystem data.
fn after_mount(root: &OwnedFd, m: &MountEntry, is_file: bool, strict: bool, op: &'static str) -> Result<()> {
    if m.rattr_set | m.rattr_clr == 0 && m.propagation.is_none() {
        return Ok(());
    }
    // Looked up again: the descriptor taken before mounting is the directory underneath.
    let mounted = ensure_target(root, &m.destination, is_file, strict, op)?;
    if m.rattr_set | m.rattr_clr != 0 {
        mount_setattr(&mounted, m.rattr_set, m.rattr_clr, 0, true).map_err(sys("mount_setattr", &m.destination))?;
    }
    if let Some(p) = m.propagation {
        let recursive = p.contains(MsFlags::MS_REC);
        let kind = (p - MsFlags::MS_REC).bits() as u64;
        mount_setattr(&mounted, 0, 0, kind, recursive).map_err(sys("mount_setattr propagation", &m.destination))?;
    }
    Ok(())
}

fn mount_fresh(m: &MountEntry, target: &OwnedFd, own_netns: bool) -> Result<()> {
    let mut flags = m.flags;
    if m.readonly {
        flags |= MsFlags::MS_RDONLY;
    }
    if m.kind == "cgroup" || m.kind == "cgroup2" {
        return mount_cgroup(m, target);
    }
    if m.kind == "sysfs" && !own_netns {
        // A fresh sysfs belongs to a network namespace; sharing the host's, we share its /sys,
        // read-only, as runc does.
        return bind_host(&m.destination, target, true);
    }
    let at = format!("/proc/self/fd/{}", target.as_raw_fd());
    let data = (!m.data.is_empty()).then_some(m.data.as_str());
    match mount(Some(m.source.as_str()), at.as_str(), Some(m.kind.as_str()), flags, data) {
        Ok(()) => Ok(()),
        // Without a pid (proc) or network (sysfs) namespace of our own the kernel won't mount a
        // fresh instance in a user namespace; docker-rootless binds the host's instead.
        Err(Errno::EPERM | Errno::EBUSY) if matches!(m.kind.as_str(), "proc" | "sysfs") => bind_host(&m.destination, target, m.kind == "sysfs"),
        Err(e) => Err(explained("mount", &m.destination, e, format!("mount {} on {}: {}", m.kind, m.destination, e.desc()))),
    }
}

/// The mount really is at its destination (looked up again, strictly) and of its kind: what the
/// masks that follow rely on.
fn verify(root: &OwnedFd, m: &MountEntry, op: &'static str) -> Result<()> {
    let Some((want, name)) = resolve::magic_of_kind(&m.kind) else { return Ok(()) };
    let rel = resolve::relative(&m.destination);
    let fd = open_strict(root, &rel, OFlag::O_DIRECTORY).map_err(|r| refused(op, &m.destination, r, "mount there"))?;
    match resolve::magic(&fd) {
        Ok(got) if got == want => Ok(()),
        Ok(got) => Err(explained(op, &m.destination, Errno::EXDEV, format!("after mounting, {} is not a {name} (statfs magic {got:#x})", m.destination))),
        Err(e) => Err(sys("statfs", &m.destination)(e)),
    }
}

/// A volume may follow symlinks inside the root, but not into a kernel filesystem: a bind over
/// /proc/sys/… or /sys/… (or a directory made there) that the spec did not ask for by name.
fn check_landing(root: &OwnedFd, dest: &str, found: &OwnedFd) -> Result<()> {
    let fs = match resolve::magic(found) {
        Ok(magic) => resolve::kernel_fs(magic),
        Err(e) => return Err(sys("statfs", dest)(e)),
    };
    let Some(fs) = fs else { return Ok(()) };
    match open_strict(root, &resolve::relative(dest), OFlag::empty()) {
        Ok(_) => Ok(()),
        Err(Refused::Link(l)) => Err(explained("bind", dest, Errno::ELOOP, l.refusal(&format!("bind {dest} there: it leads into {fs}")))),
        Err(Refused::Errno(e)) => Err(explained("bind", dest, e, format!("{dest} leads into {fs} by a way that cannot be checked; refusing to bind there"))),
    }
}

fn refused(op: &'static str, dest: &str, r: Refused, doing: &str) -> super::RootfsError {
    match r {
        Refused::Link(l) => explained(op, dest, Errno::ELOOP, l.refusal(doing)),
        Refused::Errno(e) => sys(op, dest)(e),
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
/// binds, an empty file) without ever resolving outside `root`; with `strict`, without following
/// any symlink at all (a symlink on the way is refused, naming it).
pub fn ensure_target(root: &OwnedFd, dest: &str, is_file: bool, strict: bool, op: &'static str) -> Result<OwnedFd> {
    let rel = if strict { resolve::relative(dest) } else { dest.trim_start_matches('/').to_string() };
    let rel = if rel.is_empty() { ".".to_string() } else { rel };
    let open = |path: &str| -> std::result::Result<OwnedFd, Refused> {
        if strict {
            open_strict(root, path, OFlag::empty())
        } else {
            open_in_root(root, path, OFlag::O_PATH.bits()).map_err(Refused::Errno)
        }
    };
    // Where a bind target (or a directory made for one) ends up after its symlinks.
    let landed = |fd: OwnedFd| -> Result<OwnedFd> {
        if !strict {
            check_landing(root, dest, &fd)?;
        }
        Ok(fd)
    };
    match open(&rel) {
        Ok(fd) => return landed(fd),
        Err(Refused::Errno(Errno::ENOENT)) => {}
        Err(Refused::Errno(e)) => return Err(sys("open", dest)(e)),
        Err(r) => return Err(refused(op, dest, r, "mount there")),
    }
    let (parent, name) = match rel.rsplit_once('/') {
        Some((p, n)) => (ensure_target(root, &format!("/{p}"), false, strict, op)?, n),
        None => (open_in_root(root, ".", OFlag::O_PATH.bits()).map_err(sys("open", "/"))?, rel.as_str()),
    };
    // The parent was resolved inside the root; `name` is one component, created in place (an
    // existing symlink there is not followed: EEXIST, and the lookup below judges it).
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
    match open(&rel) {
        Ok(fd) => landed(fd),
        Err(Refused::Errno(e)) => Err(sys("open", dest)(e)),
        Err(r) => Err(refused(op, dest, r, "mount there")),
    }
}
