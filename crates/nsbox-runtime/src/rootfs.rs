//! The container's filesystem: a private copy of the mount tree, the root (an image directory or
//! the host's own `/`, read-only) attached at a staging point, the spec's mounts resolved inside
//! it without following symlinks out, then pivot_root into it.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{fchdir, pivot_root};

use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::{errno_of, sys_wire};
use crate::plan::{MountEntry, Plan};
use crate::syscalls::*;
use crate::{devices, masks};

/// Where the new root is assembled: a tmpfs of our own, mounted in the container's mount namespace
/// only. Every host path we need was captured as a file descriptor before it was mounted.
const STAGING: &str = "/tmp";
const NEW_ROOT: &str = "/tmp/nsbox-root";

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    /// The kernel's errno, with what it means at this step (`rootfs is not a mount point ...`).
    #[error("{op}({path}): {}: {why}", errno_name(*errno))]
    Explained { op: &'static str, path: String, errno: Errno, why: String },
}

impl RootfsError {
    pub fn to_wire(&self) -> WireError {
        match self {
            RootfsError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            RootfsError::Explained { op, path, errno, why } => sys_wire(op, path, *errno, why),
        }
    }
}

type Result<T> = std::result::Result<T, RootfsError>;

/// `.map_err(sys("mount", "/proc"))`: a nix call's errno as this module's error.
fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> RootfsError {
    let path = path.to_string();
    move |errno| RootfsError::Sys { op, path, errno }
}

fn explained(op: &'static str, path: impl std::fmt::Display, errno: Errno, why: impl Into<String>) -> RootfsError {
    RootfsError::Explained { op, path: path.to_string(), errno, why: why.into() }
}

/// Devices and masks fail with their own errors, hence the crate-wide result here.
pub fn setup(plan: &Plan) -> crate::error::Result<()> {
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .map_err(sys("make / rprivate", "/"))?;
    let root_path = plan.root.to_string_lossy().into_owned();
    let host_root = root_path == "/";
    let root_tree = open_tree(None, &root_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE).map_err(|e| {
        let why = match e {
            Errno::ENOENT => "rootfs does not exist",
            Errno::ENOTDIR => "rootfs is not a directory",
            _ => e.desc(),
        };
        explained("open_tree", &root_path, e, why)
    })?;
    if plan.root_readonly && host_root {
        // Before anything is mounted, so the host's own submounts are read-only too and nothing we
        // do afterwards can create a file on the host's filesystems.
        mount_setattr_fd(&root_tree, MOUNT_ATTR_RDONLY, true).map_err(sys("mount_setattr ro", &root_path))?;
    }
    let sources = capture_bind_sources(&plan.mounts)?;
    mount(Some("tmpfs"), STAGING, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=700,size=64k"))
        .map_err(sys("mount staging tmpfs", STAGING))?;
    std::fs::create_dir(NEW_ROOT).map_err(|e| sys("mkdir", NEW_ROOT)(errno_of(&e)))?;
    move_mount_path(&root_tree, NEW_ROOT).map_err(sys("move_mount", &root_path))?;
    let root = open(NEW_ROOT, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open", NEW_ROOT))?;
    let own_netns = plan.has(nsbox_core::namespaces::NsKind::Net);
    for (entry, source) in plan.mounts.iter().zip(sources) {
        mount_one(&root, entry, source, own_netns)?;
        if entry.destination == "/dev" && entry.kind == "tmpfs" {
            devices::populate(&root)?;
        }
    }
    masks::apply(&root, &plan.masked_paths, &plan.readonly_paths)?;
    if plan.root_readonly && !host_root {
        // Only the image's root mount: /proc, /dev, volumes keep their own flags, as with docker.
        mount_setattr_fd(&root, MOUNT_ATTR_RDONLY, false).map_err(sys("mount_setattr ro", &root_path))?;
    }
    Ok(enter(&root, &root_path)?)
}

/// pivot_root(".", ".") with O_PATH descriptors, then the old root is detached from underneath.
fn enter(new_root: &OwnedFd, shown_as: &str) -> Result<()> {
    let old_root = open("/", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open", "/"))?;
    fchdir(new_root).map_err(sys("fchdir", shown_as))?;
    pivot_root(".", ".").map_err(|e| {
        let why = if e == Errno::EINVAL { "rootfs is not a mount point or its parent mount is shared" } else { e.desc() };
        explained("pivot_root", shown_as, e, why)
    })?;
    fchdir(&old_root).map_err(sys("fchdir", "old root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(sys("umount old root", "/"))?;
    std::env::set_current_dir("/").map_err(|e| sys("chdir", "/")(errno_of(&e)))
}

/// Bind sources as detached trees, taken while the caller's filesystem is still what paths mean.
fn capture_bind_sources(mounts: &[MountEntry]) -> Result<Vec<Option<OwnedFd>>> {
    mounts
        .iter()
        .map(|m| {
            if !m.bind {
                return Ok(None);
            }
            let flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | if m.recursive { AT_RECURSIVE } else { 0 };
            open_tree(None, &m.source, flags).map(Some).map_err(|e| {
                explained("bind", &m.source, e, format!("cannot bind {} to {}: {}", m.source, m.destination, e.desc()))
            })
        })
        .collect()
}

fn mount_one(root: &OwnedFd, m: &MountEntry, source: Option<OwnedFd>, own_netns: bool) -> Result<()> {
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
