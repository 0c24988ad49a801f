use std::os::unix::fs::MetadataExt;

use nix::sched::CloneFlags;
use serde::Serialize;

use crate::WireError;

/// The eight namespace kinds, in the order `/proc/PID/ns` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NsKind {
    Cgroup,
    Ipc,
    Mnt,
    Net,
    Pid,
    Time,
    User,
    Uts,
}

pub const ALL: [NsKind; 8] =
    [NsKind::Cgroup, NsKind::Ipc, NsKind::Mnt, NsKind::Net, NsKind::Pid, NsKind::Time, NsKind::User, NsKind::Uts];

/// What docker creates as root (plus time, with zero offsets: see the foundation issue).
pub const ROOT_DEFAULT: [NsKind; 7] =
    [NsKind::Cgroup, NsKind::Ipc, NsKind::Mnt, NsKind::Net, NsKind::Pid, NsKind::Time, NsKind::Uts];

impl NsKind {
    /// Accepts the `/proc/PID/ns` names and the OCI / unshare(1) spellings.
    pub fn parse(name: &str) -> Option<NsKind> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "cgroup" => NsKind::Cgroup,
            "ipc" => NsKind::Ipc,
            "mnt" | "mount" => NsKind::Mnt,
            "net" | "network" => NsKind::Net,
            "pid" => NsKind::Pid,
            "time" => NsKind::Time,
            "user" => NsKind::User,
            "uts" => NsKind::Uts,
            _ => return None,
        })
    }

    /// The entry in `/proc/PID/ns/`.
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::Cgroup => "cgroup",
            NsKind::Ipc => "ipc",
            NsKind::Mnt => "mnt",
            NsKind::Net => "net",
            NsKind::Pid => "pid",
            NsKind::Time => "time",
            NsKind::User => "user",
            NsKind::Uts => "uts",
        }
    }

    /// The OCI runtime-spec `linux.namespaces[].type`.
    pub fn oci_name(self) -> &'static str {
        match self {
            NsKind::Mnt => "mount",
            NsKind::Net => "network",
            other => other.proc_name(),
        }
    }

    pub fn clone_flag(self) -> CloneFlags {
        match self {
            NsKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NsKind::Mnt => CloneFlags::CLONE_NEWNS,
            NsKind::Net => CloneFlags::CLONE_NEWNET,
            NsKind::Pid => CloneFlags::CLONE_NEWPID,
            // nix has no CLONE_NEWTIME; the kernel's value is 0x80.
            NsKind::Time => CloneFlags::from_bits_retain(0x80),
            NsKind::User => CloneFlags::CLONE_NEWUSER,
            NsKind::Uts => CloneFlags::CLONE_NEWUTS,
        }
    }
}

/// Parses a list such as `pid,uts,user` or `all`; unknown names are an error naming the field.
pub fn parse_list(field: &str, names: &[String]) -> Result<Vec<NsKind>, WireError> {
    let mut out = Vec::new();
    for name in names.iter().flat_map(|n| n.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        if name == "all" {
            out.extend(ALL);
            continue;
        }
        let kind = NsKind::parse(name).ok_or_else(|| {
            WireError::invalid_spec(field, format!("unknown namespace {name:?} (known: cgroup, ipc, mnt, net, pid, time, user, uts, all)"))
        })?;
        out.push(kind);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// One namespace of a process: its kind and inode number (the `[N]` of `readlink /proc/PID/ns/x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NsId {
    pub kind: NsKind,
    pub id: u64,
}

/// The eight namespace ids of a process (`None`: this process).
pub fn read_ids(pid: Option<i32>) -> Result<Vec<NsId>, WireError> {
    let base = match pid {
        Some(p) => format!("/proc/{p}/ns"),
        None => "/proc/self/ns".to_string(),
    };
    ALL.iter()
        .map(|&kind| {
            let path = format!("{base}/{}", kind.proc_name());
            std::fs::metadata(&path)
                .map(|m| NsId { kind, id: m.ino() })
                .map_err(|e| {
                    let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                    WireError::from_errno("stat", Some(path.clone()), errno, e.to_string())
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_all() {
        let l = parse_list("namespaces", &["pid,uts".into(), "user".into(), "mount".into()]).unwrap();
        assert_eq!(l, vec![NsKind::Mnt, NsKind::Pid, NsKind::User, NsKind::Uts]);
        assert_eq!(parse_list("namespaces", &["all".into()]).unwrap().len(), 8);
        let e = parse_list("namespaces", &["pid,bogus".into()]).unwrap_err();
        assert_eq!((e.code.as_str(), e.op.as_str()), ("ERR_INVALID_SPEC", "namespaces"));
        assert!(e.message.contains("bogus"));
    }

    #[test]
    fn reads_own_ids() {
        let ids = read_ids(None).unwrap();
        assert_eq!(ids.len(), 8);
        assert!(ids.iter().all(|n| n.id > 0));
        assert!(read_ids(Some(i32::MAX)).unwrap_err().code == "ENOENT");
    }
}

/// The nsfs ioctls (linux/nsfs.h) on a namespace descriptor, each wrapped once.
pub mod nsfs {
    use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    const NS_GET_PARENT: libc::c_ulong = 0xb702;
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    const NS_GET_OWNER_UID: libc::c_ulong = 0xb704;

    /// The CLONE_NEW* type of a namespace descriptor (-1 when it is no namespace).
    pub fn ns_type(fd: BorrowedFd<'_>) -> i32 {
        // SAFETY: an ioctl without arguments on a descriptor the caller holds open.
        unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) }
    }

    /// The uid that made a user namespace.
    pub fn owner_uid(user: BorrowedFd<'_>) -> Option<libc::uid_t> {
        let mut uid: libc::uid_t = libc::uid_t::MAX;
        // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer, which points at ours.
        let r = unsafe { libc::ioctl(user.as_raw_fd(), NS_GET_OWNER_UID as _, &mut uid as *mut libc::uid_t) };
        (r == 0).then_some(uid)
    }

    /// The user namespace that owns a namespace.
    pub fn owning_user(fd: BorrowedFd<'_>) -> Option<OwnedFd> {
        related(fd, NS_GET_USERNS)
    }

    /// The parent of a user or pid namespace (None for the initial one, or one we cannot see).
    pub fn parent(fd: BorrowedFd<'_>) -> Option<OwnedFd> {
        related(fd, NS_GET_PARENT)
    }

    fn related(fd: BorrowedFd<'_>, request: libc::c_ulong) -> Option<OwnedFd> {
        // SAFETY: these ioctls take no argument and return a new descriptor, or -1.
        let raw = unsafe { libc::ioctl(fd.as_raw_fd(), request as _) };
        // SAFETY: a descriptor the kernel just gave us, owned by nothing else.
        (raw >= 0).then(|| unsafe { OwnedFd::from_raw_fd(raw) })
    }
}
