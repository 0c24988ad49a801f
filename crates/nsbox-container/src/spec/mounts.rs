//! One `mounts[]` entry read into a [`MountEntry`]: the options split the way mount(8) and runc
//! split them into flags to set, flags to clear, a propagation change made after the mount, per-mount
//! attributes (binds get theirs with mount_setattr: a bind ignores most flags when it is made), and
//! the rest, which stays data for the filesystem.

use std::path::Path;

use nix::mount::MsFlags;

use super::plan::{Result, SpecError};

/// MOUNT_ATTR_* (linux/mount.h): what mount_setattr sets on a bind.
pub const ATTR_RDONLY: u64 = 0x1;
pub const ATTR_NOSUID: u64 = 0x2;
pub const ATTR_NODEV: u64 = 0x4;
pub const ATTR_NOEXEC: u64 = 0x8;
/// The atime field: relatime is 0 within it, so "set relatime" is "clear the field".
pub const ATTR_ATIME: u64 = 0x70;
pub const ATTR_NOATIME: u64 = 0x10;
pub const ATTR_STRICTATIME: u64 = 0x20;
pub const ATTR_NODIRATIME: u64 = 0x80;
pub const ATTR_NOSYMFOLLOW: u64 = 0x200000;

/// MS_NOSYMFOLLOW (5.10), which nix does not name.
const MS_NOSYMFOLLOW: u64 = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct MountEntry {
    pub destination: String,
    pub kind: String,
    pub source: String,
    /// For mount(2) (fresh mounts): flags to set.
    pub flags: MsFlags,
    pub data: String,
    pub bind: bool,
    pub recursive: bool,
    pub readonly: bool,
    /// For binds (mount_setattr on the detached tree): attributes to set and to clear, and whether
    /// they apply to the submounts too.
    pub attr_set: u64,
    pub attr_clr: u64,
    /// `rro`, `rnosuid`, …: attributes for every mount of the tree, whatever the mount's kind.
    pub rattr_set: u64,
    pub rattr_clr: u64,
    /// MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, with MS_REC for the r* forms: applied to the
    /// mount once it is in place.
    pub propagation: Option<MsFlags>,
}

/// Propagation option → flags (runc's mountPropagationMapping).
pub fn propagation_of(o: &str) -> Option<MsFlags> {
    let (rec, base) = match o.strip_prefix('r') {
        Some(b) if matches!(b, "shared" | "slave" | "private" | "unbindable") => (MsFlags::MS_REC, b),
        _ => (MsFlags::empty(), o),
    };
    let f = match base {
        "shared" => MsFlags::MS_SHARED,
        "slave" => MsFlags::MS_SLAVE,
        "private" => MsFlags::MS_PRIVATE,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        _ => return None,
    };
    Some(f | rec)
}

/// Per-mount flag options: (set?, MS_* flag, MOUNT_ATTR_* for binds or None when the flag belongs
/// to the superblock and so cannot be changed through a bind).
fn flag_of(o: &str) -> Option<(bool, u64, Option<u64>)> {
    let ms = |f: MsFlags| f.bits();
    Some(match o {
        "ro" => (true, ms(MsFlags::MS_RDONLY), Some(ATTR_RDONLY)),
        "rw" => (false, ms(MsFlags::MS_RDONLY), Some(ATTR_RDONLY)),
        "nosuid" => (true, ms(MsFlags::MS_NOSUID), Some(ATTR_NOSUID)),
        "suid" => (false, ms(MsFlags::MS_NOSUID), Some(ATTR_NOSUID)),
        "nodev" => (true, ms(MsFlags::MS_NODEV), Some(ATTR_NODEV)),
        "dev" => (false, ms(MsFlags::MS_NODEV), Some(ATTR_NODEV)),
        "noexec" => (true, ms(MsFlags::MS_NOEXEC), Some(ATTR_NOEXEC)),
        "exec" => (false, ms(MsFlags::MS_NOEXEC), Some(ATTR_NOEXEC)),
        "noatime" => (true, ms(MsFlags::MS_NOATIME), Some(ATTR_NOATIME)),
        "atime" => (false, ms(MsFlags::MS_NOATIME), Some(ATTR_NOATIME)),
        "nodiratime" => (true, ms(MsFlags::MS_NODIRATIME), Some(ATTR_NODIRATIME)),
        "diratime" => (false, ms(MsFlags::MS_NODIRATIME), Some(ATTR_NODIRATIME)),
        "relatime" => (true, ms(MsFlags::MS_RELATIME), Some(0)),
        "norelatime" => (false, ms(MsFlags::MS_RELATIME), Some(0)),
        "strictatime" => (true, ms(MsFlags::MS_STRICTATIME), Some(ATTR_STRICTATIME)),
        "nostrictatime" => (false, ms(MsFlags::MS_STRICTATIME), Some(ATTR_STRICTATIME)),
        "nosymfollow" => (true, MS_NOSYMFOLLOW, Some(ATTR_NOSYMFOLLOW)),
        "symfollow" => (false, MS_NOSYMFOLLOW, Some(ATTR_NOSYMFOLLOW)),
        "sync" => (true, ms(MsFlags::MS_SYNCHRONOUS), None),
        "async" => (false, ms(MsFlags::MS_SYNCHRONOUS), None),
        "dirsync" => (true, ms(MsFlags::MS_DIRSYNC), None),
        "mand" => (true, ms(MsFlags::MS_MANDLOCK), None),
        "nomand" => (false, ms(MsFlags::MS_MANDLOCK), None),
        "lazytime" => (true, ms(MsFlags::MS_LAZYTIME), None),
        "nolazytime" => (false, ms(MsFlags::MS_LAZYTIME), None),
        "iversion" => (true, ms(MsFlags::MS_I_VERSION), None),
        "noiversion" => (false, ms(MsFlags::MS_I_VERSION), None),
        "silent" => (true, ms(MsFlags::MS_SILENT), None),
        "loud" => (false, ms(MsFlags::MS_SILENT), None),
        "remount" => (true, ms(MsFlags::MS_REMOUNT), None),
        _ => return None,
    })
}

/// The atime options are one field for mount_setattr: setting one clears the others.
fn atime_attr(set: bool, attr: u64, e: &mut MountEntry, recursive: bool) {
    let (s, c) = if recursive { (&mut e.rattr_set, &mut e.rattr_clr) } else { (&mut e.attr_set, &mut e.attr_clr) };
    match (set, attr) {
        (true, ATTR_NOATIME | ATTR_STRICTATIME) | (true, 0) => {
            *s = (*s & !ATTR_ATIME) | attr;
            *c |= ATTR_ATIME;
        }
        // Clearing noatime/strictatime/relatime: back to the kernel's default, relatime.
        (false, ATTR_NOATIME | ATTR_STRICTATIME | 0) => {
            *s &= !ATTR_ATIME;
            *c |= ATTR_ATIME;
        }
        _ => unreachable!("only atime attributes"),
    }
}

fn set_attr(set: bool, attr: u64, e: &mut MountEntry, recursive: bool) {
    if attr == 0 || attr & ATTR_ATIME != 0 {
        return atime_attr(set, attr, e, recursive);
    }
    let (s, c) = if recursive { (&mut e.rattr_set, &mut e.rattr_clr) } else { (&mut e.attr_set, &mut e.attr_clr) };
    if set {
        *s |= attr;
        *c &= !attr;
    } else {
        *c |= attr;
        *s &= !attr;
    }
}

pub fn mount_entry(i: usize, m: &oci_spec::runtime::Mount, bundle: &Path) -> Result<MountEntry> {
    let field = |f: &str| format!("mounts[{i}].{f}");
    let destination = m.destination().to_string_lossy().into_owned();
    if !destination.starts_with('/') {
        return Err(SpecError::new(field("destination"), format!("{destination:?} is not absolute")));
    }
    let kind = m.typ().clone().unwrap_or_else(|| "bind".into());
    let options: Vec<String> = m.options().clone().unwrap_or_default();
    let bind = kind == "bind" || options.iter().any(|o| o == "bind" || o == "rbind");
    // Only a bind's source is a path (relative ones against the bundle, as runc reads them); any
    // other filesystem's source is the kernel's business (`proc`, `tmpfs`, a device, `none`).
    let source = match m.source() {
        Some(s) if bind => bundle.join(s).to_string_lossy().into_owned(),
        Some(s) => s.to_string_lossy().into_owned(),
        None if bind => return Err(SpecError::new(field("source"), "a bind mount needs a source")),
        None => kind.clone(),
    };
    let mut e = MountEntry {
        destination,
        kind,
        source,
        flags: MsFlags::empty(),
        data: String::new(),
        bind,
        recursive: false,
        readonly: false,
        attr_set: 0,
        attr_clr: 0,
        rattr_set: 0,
        rattr_clr: 0,
        propagation: None,
    };
    let mut set = 0u64;
    let mut data = Vec::new();
    for o in &options {
        let o = o.as_str();
        if let Some(p) = propagation_of(o) {
            // The last one wins, as with mount(8).
            e.propagation = Some(p);
            continue;
        }
        if let Some((on, flag, attr)) = flag_of(o) {
            if on {
                set |= flag;
            } else {
                set &= !flag;
            }
            match attr {
                Some(a) => set_attr(on, a, &mut e, false),
                None if bind => {
                    return Err(SpecError::new(
                        field("options"),
                        format!("{o:?} is a property of the source's filesystem, which a bind mount cannot change; set it where the source is mounted"),
                    ))
                }
                None => {}
            }
            continue;
        }
        // rro, rnosuid, …: runc's recursive mount attributes, set with mount_setattr(AT_RECURSIVE).
        if let Some((on, _, Some(attr))) = o.strip_prefix('r').and_then(flag_of) {
            set_attr(on, attr, &mut e, true);
            continue;
        }
        match o {
            "bind" => {}
            "rbind" => e.recursive = true,
            "defaults" => {}
            "tmpcopyup" => {
                return Err(SpecError::new(field("options"), "\"tmpcopyup\" (copying the image's files into the tmpfs) is not supported"))
            }
            "idmap" | "ridmap" => return Err(SpecError::new(field("options"), format!("{o:?}: id-mapped mounts are not supported"))),
            "copy-symlink" | "copyup" | "nocopyup" | "notmpcopyup" => {
                return Err(SpecError::new(field("options"), format!("{o:?} is not supported")))
            }
            // Anything else belongs to the filesystem (size=, mode=, uid=, …), as runc passes it.
            // A bind makes no filesystem: the kernel takes no data with MS_BIND, and runc and crun
            // accept such options there too (the conformance suite's `mounts` gives binds
            // `mode=755,size=1k`), so they are kept in `data` and have no effect.
            other => data.push(other.to_string()),
        }
    }
    if bind && set & MsFlags::MS_REMOUNT.bits() != 0 {
        return Err(SpecError::new(field("options"), "\"remount\" with a bind mount is not supported"));
    }
    e.readonly = set & MsFlags::MS_RDONLY.bits() != 0;
    // What mount(2) gets for a fresh mount: every set flag but ro (added by the mounting code).
    e.flags = MsFlags::from_bits_retain(set & !MsFlags::MS_RDONLY.bits());
    e.data = data.join(",");
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: serde_json::Value) -> Result<MountEntry> {
        let m: oci_spec::runtime::Mount = serde_json::from_value(json).unwrap();
        mount_entry(0, &m, Path::new("/bundle"))
    }

    #[test]
    fn only_bind_sources_are_joined_onto_the_bundle() {
        let e = entry(serde_json::json!({"destination": "/proc", "type": "proc", "source": "proc"})).unwrap();
        assert_eq!(e.source, "proc");
        let e = entry(serde_json::json!({"destination": "/v", "type": "bind", "source": "vol", "options": ["rbind"]})).unwrap();
        assert_eq!((e.source.as_str(), e.bind, e.recursive), ("/bundle/vol", true, true));
        let e = entry(serde_json::json!({"destination": "/v", "type": "none", "source": "/abs", "options": ["bind"]})).unwrap();
        assert_eq!((e.source.as_str(), e.bind, e.recursive), ("/abs", true, false));
    }

    #[test]
    fn propagation_is_not_data() {
        let e = entry(serde_json::json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["rshared", "size=1m", "nosuid"]})).unwrap();
        assert_eq!(e.propagation, Some(MsFlags::MS_SHARED | MsFlags::MS_REC));
        assert_eq!(e.data, "size=1m");
        assert_eq!(e.flags, MsFlags::MS_NOSUID);
        let e = entry(serde_json::json!({"destination": "/t", "type": "tmpfs", "options": ["slave", "private"]})).unwrap();
        assert_eq!(e.propagation, Some(MsFlags::MS_PRIVATE));
    }

    #[test]
    fn flags_set_and_clear_in_order() {
        let e = entry(serde_json::json!({"destination": "/t", "type": "tmpfs", "options": ["ro", "rw", "noexec", "exec", "sync", "dirsync", "mand", "lazytime", "strictatime", "nodiratime"]})).unwrap();
        assert!(!e.readonly);
        assert_eq!(e.flags, MsFlags::MS_SYNCHRONOUS | MsFlags::MS_DIRSYNC | MsFlags::MS_MANDLOCK | MsFlags::MS_LAZYTIME | MsFlags::MS_STRICTATIME | MsFlags::MS_NODIRATIME);
        let e = entry(serde_json::json!({"destination": "/t", "type": "tmpfs", "options": ["remount", "ro"]})).unwrap();
        assert!(e.readonly && e.flags.contains(MsFlags::MS_REMOUNT));
    }

    #[test]
    fn bind_flags_become_mount_attributes() {
        let e = entry(serde_json::json!({"destination": "/v", "source": "/s", "options": ["rbind", "ro", "nosuid", "nodev", "noexec", "noatime", "rprivate"]})).unwrap();
        assert!(e.readonly);
        assert_eq!(e.attr_set, ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV | ATTR_NOEXEC | ATTR_NOATIME);
        assert_eq!(e.attr_clr, ATTR_ATIME);
        let e = entry(serde_json::json!({"destination": "/v", "source": "/s", "options": ["bind", "rw", "suid", "rro"]})).unwrap();
        assert_eq!((e.attr_set, e.attr_clr, e.rattr_set), (0, ATTR_RDONLY | ATTR_NOSUID, ATTR_RDONLY));
    }

    #[test]
    fn filesystem_data_on_a_bind_is_accepted_as_runc_does() {
        let e = entry(serde_json::json!({"destination": "/t", "source": "/s", "options": ["nosuid", "strictatime", "mode=755", "size=1k", "bind", "shared"]})).unwrap();
        assert_eq!((e.data.as_str(), e.propagation), ("mode=755,size=1k", Some(MsFlags::MS_SHARED)));
        assert_eq!((e.attr_set, e.attr_clr), (ATTR_NOSUID | ATTR_STRICTATIME, ATTR_ATIME));
    }

    #[test]
    fn refusals_name_the_option() {
        let msg = |j| entry(j).unwrap_err().to_string();
        assert!(msg(serde_json::json!({"destination": "/t", "type": "tmpfs", "options": ["tmpcopyup"]})).contains("tmpcopyup"));
        assert!(msg(serde_json::json!({"destination": "/t", "source": "/s", "options": ["rbind", "idmap"]})).contains("id-mapped"));
        assert!(msg(serde_json::json!({"destination": "/t", "source": "/s", "options": ["bind", "sync"]})).contains("\"sync\" is a property of the source"));
        assert!(msg(serde_json::json!({"destination": "t", "type": "tmpfs"})).contains("is not absolute"));
        assert_eq!(msg(serde_json::json!({"destination": "/t", "type": "bind"})), "mounts[0].source: ERR_INVALID_SPEC: a bind mount needs a source");
    }
}
