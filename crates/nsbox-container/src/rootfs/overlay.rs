//! The overlay root (spec/overlay.rs): made with fsopen/fsconfig/fsmount in the container's own
//! mount namespace, as a detached mount that the caller attaches at the staging point, so it never
//! appears in the host's mount table and vanishes with the namespace.

use std::os::fd::OwnedFd;

use crate::spec::OverlayRoot;
use crate::syscalls::{fsconfig_flag, fsconfig_string, fsmount, fsopen};

use super::{explained, sys, Result};

pub fn mount(o: &OverlayRoot) -> Result<OwnedFd> {
    let fs = fsopen("overlay").map_err(|e| explained("fsopen", "overlay", e, "overlayfs is not available in this kernel"))?;
    // fsconfig takes at most 256 bytes a value: one `lowerdir+` a layer (Linux ≥ 6.8), else the
    // classic colon list, which then has to fit.
    let lowers: Vec<String> = o.lowerdirs.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    for (i, l) in lowers.iter().enumerate() {
        match fsconfig_string(&fs, "lowerdir+", l) {
            Ok(()) => {}
            Err(nix::errno::Errno::EINVAL) if i == 0 => {
                let joined = lowers.join(":");
                fsconfig_string(&fs, "lowerdir", &joined).map_err(|e| {
                    explained("overlay lowerdir", &joined, e, "this kernel takes no lowerdir+ (Linux < 6.8) and the layer list exceeds 256 bytes")
                })?;
                break;
            }
            Err(e) => return Err(sys("overlay lowerdir+", l)(e)),
        }
    }
    let upper = o.upperdir.to_string_lossy().into_owned();
    fsconfig_string(&fs, "upperdir", &upper).map_err(sys("overlay upperdir", &upper))?;
    let work = o.workdir.to_string_lossy().into_owned();
    fsconfig_string(&fs, "workdir", &work).map_err(sys("overlay workdir", &work))?;
    if o.userxattr {
        // A rootless store: opaque directories are marked user.overlay.opaque (trusted.* is the
        // host's CAP_SYS_ADMIN's), which overlayfs reads only with this option (Linux ≥ 5.11).
        fsconfig_flag(&fs, "userxattr").map_err(|e| explained("overlay userxattr", &work, e, "this kernel's overlayfs has no userxattr (Linux < 5.11)"))?;
    }
    fsmount(&fs).map_err(sys("mount overlay", format!("upperdir={upper}")))
}

/// Removes the container's writable layer (the upperdir's parent) if it is marked as this
/// container's: `nsbox-layer` in it holds the id. Anything else is left alone.
pub fn remove_layer(o: &OverlayRoot, id: &str) -> Option<String> {
    let dir = o.upperdir.parent()?;
    let marker = std::fs::read_to_string(dir.join("nsbox-layer")).ok()?;
    if marker.trim() != id {
        return None;
    }
    let root = nix::unistd::geteuid().is_root();
    if let Some((uids, gids)) = o.id_maps.as_ref().filter(|(u, g)| !root && (u.len() > 1 || g.len() > 1)) {
        // Files of subordinate ids: only root of a namespace with the container's maps may remove them.
        let gone = crate::create::userns::run_as_root(uids, gids, || match std::fs::remove_dir_all(dir) {
            Ok(()) => 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => e.raw_os_error().unwrap_or(libc::EIO).min(255),
        });
        return match gone {
            Ok(0) => None,
            Ok(errno) => Some(format!("remove {} in the container's user namespace: {}", dir.display(), nsbox_core::error::errno_name(nix::errno::Errno::from_raw(errno)))),
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
fn remove_tree(dir: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && !nix::unistd::geteuid().is_root() => {
            make_writable(dir)?;
            std::fs::remove_dir_all(dir)
        }
        r => r,
    }
}

fn make_writable(p: &std::path::Path) -> std::io::Result<()> {
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
