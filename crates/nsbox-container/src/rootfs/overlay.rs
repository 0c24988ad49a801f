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
    if o.volatile {
        // Without it, the overlay's unmount (when the container's mount namespace dies with its
        // last process) syncs the whole filesystem under upperdir: every dirty page of the disk,
        // not only ours, waited for in the container's exit (milliseconds idle, tens of them while
        // builds write). Its cost, losing the layer's consistency on a crash, does not matter to a
        // layer removed when the container ends. Linux < 5.10 has no `volatile`: then it syncs.
        let _ = fsconfig_flag(&fs, "volatile");
    }
    fsmount(&fs).map_err(sys("mount overlay", format!("upperdir={upper}")))
}
