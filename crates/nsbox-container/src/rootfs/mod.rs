//! The container's filesystem: a private copy of the mount tree, the root (an image directory or
//! the host's own `/`, read-only) attached at a staging point, the spec's mounts resolved inside
//! it without following symlinks out (mounts.rs; kernel filesystems and masks without following
//! any symlink at all: resolve.rs), then pivot_root into it.

use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{fchdir, pivot_root};

use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::{errno_of, sys_wire};
use crate::spec::{MountEntry, Plan};
use crate::syscalls::*;

pub mod caller;
pub mod devices;
pub mod masks;
mod mounts;
pub mod layer;
pub mod overlay;
mod resolve;

use mounts::mount_one;

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
/// `before_pivot` runs in the container's mount namespace before anything is mounted in it
/// (createContainer hooks: "before pivot_root", with the caller's paths still meaning the same).
pub fn setup(plan: &Plan, before_pivot: &mut dyn FnMut() -> crate::error::Result<()>) -> crate::error::Result<()> {
    // Before anything is mounted or unmounted: the host's null device, for the masks.
    let null = masks::DevNull::open()?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .map_err(sys("make / rprivate", "/"))?;
    // Here, before our staging tmpfs covers /tmp: the hook sees the runtime's mount tree (paths
    // resolve as they do for the caller) from inside the container's mount namespace.
    before_pivot()?;
    let root_path = plan.root.to_string_lossy().into_owned();
    let host_root = root_path == "/";
    let root_tree = match &plan.overlay {
        // An image: its layers as an overlay made here, in the container's mount namespace.
        Some(o) => overlay::mount(o)?,
        None => open_tree(None, &root_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE).map_err(|e| {
            let why = match e {
                Errno::ENOENT => "rootfs does not exist",
                Errno::ENOTDIR => "rootfs is not a directory",
                _ => e.desc(),
            };
            explained("open_tree", &root_path, e, why)
        })?,
    };
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
    for node in &plan.devices.nodes {
        // Resolved inside the root without following symlinks (as kernel mounts are): an image cannot send the node
        // anywhere else. OCI allows any path, so missing directories are made.
        let (parent, name) = node.path.trim_end_matches('/').rsplit_once('/').expect("plan: absolute path below /");
        let parent = mounts::ensure_target(&root, if parent.is_empty() { "/" } else { parent }, false, true, "mknod")?;
        devices::create_node(&parent, name, node)?;
    }
    masks::apply(&root, &null, &plan.masked_paths, &plan.readonly_paths)?;
    if plan.root_readonly && !host_root {
        // Only the image's root mount: /proc, /dev, volumes keep their own flags, as with docker.
        mount_setattr_fd(&root, MOUNT_ATTR_RDONLY, false).map_err(sys("mount_setattr ro", &root_path))?;
    }
    enter(&root, &root_path)?;
    if let Some(p) = plan.root_propagation {
        // On the container's own `/` only (everything was made private above): `shared` lets
        // what the container mounts below `/` show in its own binds of it, `unbindable` forbids
        // binding it, as runc's rootfsPropagation does.
        mount(None::<&str>, "/", None::<&str>, p, None::<&str>).map_err(sys("rootfsPropagation", "/"))?;
    }
    Ok(())
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

/// Bind sources as O_PATH descriptors, taken while the caller's filesystem is still what paths
/// mean; each is copied (open_tree) only when its turn comes, so the container's mount table lists
/// the mounts in the config's order (the kernel orders it by when each mount was made).
fn capture_bind_sources(mounts: &[MountEntry]) -> Result<Vec<Option<OwnedFd>>> {
    mounts
        .iter()
        .map(|m| {
            if !m.bind {
                return Ok(None);
            }
            open(m.source.as_str(), OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).map(Some).map_err(|e| {
                explained("bind", &m.source, e, format!("cannot bind {} to {}: {}", m.source, m.destination, e.desc()))
            })
        })
        .collect()
}
