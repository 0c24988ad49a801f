//! A config without a mount namespace (the OCI suite's `linux_ns_itype`): the container shares
//! the caller's mount namespace, so its `mounts` are made there, below `root.path`, before the
//! container is chrooted into it — what runc and crun do. They stay after the container is gone,
//! like anything else done to a namespace the container shares; the caller chose that by leaving
//! `mount` out of `linux.namespaces` (docs/oci-spec.md).
//!
//! Kept as narrow as it can be: nothing of the caller's is remounted or changes propagation (runc
//! makes the caller's `/` rslave and the root's parent mount private; we don't), every mount is
//! made by descriptor inside the root exactly as with a namespace of our own (mounts.rs), a root
//! that is the caller's own `/` is refused (the mounts would cover the host's /proc, /dev, …),
//! and when one mount fails the ones already made are taken down again. Masks, device nodes,
//! `root.readonly` and `rootfsPropagation` stay refused without a mount namespace (spec/plan.rs):
//! each would change files or mounts the caller owns.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{umount2, MntFlags};
use nix::sys::stat::{fstat, stat, Mode};
use nix::unistd::{chroot, fchdir};

use super::{capture_bind_sources, devices, explained, mounts, sys};
use crate::error::errno_of;
use crate::spec::Plan;

/// `before_pivot` runs first (createContainer hooks: in the container's namespaces, before its
/// root is entered). Then the mounts, then chroot into the root.
pub fn setup(plan: &Plan, before_pivot: &mut dyn FnMut() -> crate::error::Result<()>) -> crate::error::Result<()> {
    before_pivot()?;
    if plan.mounts.is_empty() && plan.root == std::path::Path::new("/") {
        // The caller's own root: nothing to enter.
        return Ok(());
    }
    let root_path = plan.root.to_string_lossy().into_owned();
    let root = open(plan.root.as_path(), OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| {
        let why = match e {
            Errno::ENOENT => "rootfs does not exist",
            Errno::ENOTDIR => "rootfs is not a directory",
            _ => e.desc(),
        };
        explained("open", &root_path, e, why)
    })?;
    if !plan.mounts.is_empty() {
        let (r, slash) = (fstat(&root).map_err(sys("stat", &root_path))?, stat("/").map_err(sys("stat", "/"))?);
        if (r.st_dev, r.st_ino) == (slash.st_dev, slash.st_ino) {
            return Err(explained(
                "mount",
                &root_path,
                Errno::EINVAL,
                "without a mount namespace the mounts would be made over the caller's own root; add mount to linux.namespaces",
            )
            .into());
        }
        mount_all(plan, &root)?;
    }
    fchdir(&root).map_err(sys("fchdir", &root_path))?;
    chroot(".").map_err(sys("chroot", &root_path))?;
    std::env::set_current_dir("/").map_err(|e| sys("chdir", "/")(errno_of(&e)).into())
}

/// The spec's mounts, in order, below `root`; on a failure the ones made so far are unmounted
/// (last first) before the error is returned, so a refused `create` leaves the caller's mount
/// table as it was.
fn mount_all(plan: &Plan, root: &OwnedFd) -> crate::error::Result<()> {
    let sources = capture_bind_sources(&plan.mounts)?;
    let own_netns = plan.has(nsbox_core::namespaces::NsKind::Net);
    let mut made: Vec<&str> = Vec::new();
    for (entry, source) in plan.mounts.iter().zip(sources) {
        let step = mounts::mount_one(root, entry, source, own_netns).map_err(crate::error::ContainerError::from).and_then(|()| {
            made.push(&entry.destination);
            if entry.destination == "/dev" && entry.kind == "tmpfs" {
                devices::populate(root)?;
            }
            Ok(())
        });
        if let Err(e) = step {
            undo(root, &made);
            return Err(e);
        }
    }
    Ok(())
}

/// Best effort, on the way out of a failed create: each mount made, looked up again inside the
/// root without following symlinks, detached.
fn undo(root: &OwnedFd, made: &[&str]) {
    for dest in made.iter().rev() {
        let rel = dest.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        if let Ok(fd) = crate::syscalls::open_in_root_nofollow(root, rel, OFlag::O_PATH.bits()) {
            let _ = umount2(format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(), MntFlags::MNT_DETACH);
        }
    }
}
