//! An image container's writable layer (nsbox's overlay annotation, spec/overlay.rs): the
//! upperdir's parent, when `nsbox-layer` in it names the container's id. It goes with the container
//! (`delete`, the monitor's `--rm`, the end of a foreground `run`).
//!
//! Why a foreground `run` hands the deletion off: deleting the layer frees one block per directory
//! (the layer's own, upper, work, and overlayfs's work/work, work/work/incompat,
//! work/work/incompat/volatile), and on ext4 mounted with `discard` and no journal (this project's
//! machines) every freed block is a synchronous discard: 0.2–4 ms each, 5–25 ms a container, all of
//! it in the caller's wait for the container's end. So [`take_layer`] first renames the layer out
//! of the store's containers/ into its removing/ (one rename: from then on no one lists it, and
//! rmi and prune no longer count it as a user), flocked; the runtime closes its control socket and
//! stdio (the caller's run is over) and only then deletes it. A runtime killed meanwhile leaves an
//! entry of removing/ no one holds a lock on: the store's next open deletes it (nsbox-image
//! store/mod.rs). Where the layer cannot be moved (no removing/ beside containers/) it is removed
//! at once. No process is forked for it: a child would hold the caller's pipes until it is first
//! scheduled, which on a loaded machine costs more than the deletion saves.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use crate::spec::OverlayRoot;

/// The marker file in a writable layer: its first line is the id of the container the layer
/// belongs to (the store writes the image's digest on the next).
const MARKER: &str = "nsbox-layer";

/// Whether `upperdir`'s parent is this container's writable layer (`nsbox-layer` in it names the
/// id): only such a layer is removed with the container, so only it may be mounted volatile.
pub fn is_layer_of(o: &OverlayRoot, id: &str) -> bool {
    o.upperdir.parent().and_then(|dir| std::fs::read_to_string(dir.join(MARKER)).ok()).is_some_and(|m| m.lines().next().map(str::trim) == Some(id))
}

/// Removes the container's writable layer (the upperdir's parent) now, if it is marked as this
/// container's. Anything else is left alone.
pub fn remove_layer(o: &OverlayRoot, id: &str) -> Option<String> {
    let dir = o.upperdir.parent()?;
    if !is_layer_of(o, id) {
        return None;
    }
    remove_now(o, dir)
}

/// A writable layer moved out of containers/ and flocked, still to be deleted. The lock's open
/// descriptor also keeps the layer's own directory inode alive past its rmdir: its block is freed
/// (and discarded) when we close it, with no directory locked, rather than inside the rmdir, which
/// holds removing/'s lock (and so the next container's rename into it) for as long as that takes.
pub struct Moved {
    path: PathBuf,
    overlay: OverlayRoot,
    _lock: OwnedFd,
}

impl Moved {
    /// Deletes it; on failure it stays in removing/ (unlocked once we exit) for the store's clean-up.
    pub fn remove(self) -> Option<String> {
        remove_now(&self.overlay, &self.path)
    }
}

/// Moves the container's writable layer (if it is this container's) out of the store's
/// containers/; where it cannot be, removes it now (Err: what failed). Ok(None): nothing to do.
pub fn take_layer(o: &OverlayRoot, id: &str) -> Result<Option<Moved>, String> {
    let Some(dir) = o.upperdir.parent() else { return Ok(None) };
    if !is_layer_of(o, id) {
        return Ok(None);
    }
    match move_out(dir, id) {
        Some((path, lock)) => Ok(Some(Moved { path, overlay: o.clone(), _lock: lock })),
        None => remove_now(o, dir).map_or(Ok(None), Err),
    }
}

/// Renames the layer into `<store>/removing/<id>.<pid>`, flocked first (the lock tells the store's
/// clean-up a remover is alive). None: it stays where it is.
fn move_out(dir: &Path, id: &str) -> Option<(PathBuf, OwnedFd)> {
    let containers = dir.parent().filter(|c| c.file_name().is_some_and(|n| n == "containers"))?;
    let removing = containers.parent()?.join("removing");
    if !removing.is_dir() {
        return None;
    }
    let lock = open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    // SAFETY: flock on a descriptor we own; the lock goes when it is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return None;
    }
    let moved = removing.join(format!("{id}.{}", std::process::id()));
    std::fs::rename(dir, &moved).ok()?;
    Some((moved, lock))
}

/// Root of the initial user namespace. Not `geteuid() == 0` alone: a monitor that entered a
/// container's user namespace before clone (`org.nsbox.net-helper-namespaces`) is uid 0 there,
/// with none of root's rights over the host's files.
fn host_root() -> bool {
    nix::unistd::geteuid().is_root()
        && std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}

fn remove_now(o: &OverlayRoot, dir: &Path) -> Option<String> {
    let root = host_root();
    if let Some((uids, gids)) = o.id_maps.as_ref().filter(|(u, g)| !root && (u.len() > 1 || g.len() > 1)) {
        // Files of subordinate ids: only root of a namespace with the container's maps may remove them.
        let gone = crate::create::userns::run_as_root(uids, gids, || match std::fs::remove_dir_all(dir) {
            Ok(()) => 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => e.raw_os_error().unwrap_or(libc::EIO).min(255),
        });
        return match gone {
            Ok(0) => None,
            Ok(errno) => Some(format!("remove {} in the container's user namespace: {}", dir.display(), nsbox_core::error::errno_name(Errno::from_raw(errno)))),
            Err(e) => Some(format!("remove {}: {e}", dir.display())),
        };
    }
    match remove_tree(dir) {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(format!("remove {}: {e}", dir.display())),
    }
}

/// Rootless, the user owns everything in the layer but may not empty a directory it cannot write
/// (the image's `dr-xr-xr-x` ones, overlayfs's `work/work`): those are made writable first, never
/// following a symlink. Root's DAC override needs none of it.
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && !host_root() => {
            make_writable(dir)?;
            std::fs::remove_dir_all(dir)
        }
        r => r,
    }
}

fn make_writable(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let st = std::fs::symlink_metadata(p)?;
    if !st.is_dir() {
        return Ok(());
    }
    if st.permissions().mode() & 0o700 != 0o700 {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(st.permissions().mode() | 0o700))?;
    }
    for e in std::fs::read_dir(p)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            make_writable(&e.path())?;
        }
    }
    Ok(())
}
