//! Strict lookups inside the new root, for the places a malicious rootfs must not redirect.
//!
//! A filesystem the kernel makes fresh (proc, sysfs, devpts, mqueue, cgroup, tmpfs, …) and every
//! masked or read-only path must be exactly where the spec says: a symlink anywhere on the way is
//! refused (runc CVE-2019-19921 and the 2025 mount-target CVEs: proc mounted where `rootfs/proc`
//! points, hidden under /dev's tmpfs, its masks skipped as "missing"). Bind targets (volumes) keep
//! following symlinks inside the root, as docker does, but may not be led into a kernel filesystem.

use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::syscalls::open_in_root_nofollow;

pub const PROC: i64 = 0x9fa0;
pub const SYSFS: i64 = 0x6265_6572;
const TMPFS: i64 = 0x0102_1994;
const DEVPTS: i64 = 0x1cd1;
const MQUEUE: i64 = 0x1980_0202;
const CGROUP2: i64 = 0x6367_7270;

/// Filesystems that show (and let root change) the kernel's own state, by statfs magic. A volume
/// target that symlinks into one of these is refused.
const KERNEL_FS: [(i64, &str); 13] = [
    (PROC, "procfs"),
    (SYSFS, "sysfs"),
    (CGROUP2, "cgroup2"),
    (0x0027_e0eb, "cgroup"),
    (DEVPTS, "devpts"),
    (MQUEUE, "mqueue"),
    (0x7363_6673, "securityfs"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0xcafe_4a11, "bpf"),
    (0x6165_676c, "pstore"),
    (0xde5e_81e4, "efivarfs"),
    (0x6265_6570, "configfs"),
];

/// What may hold a path below /sys: sysfs and the kernel filesystems mounted on it.
const SYS_FAMILY: [i64; 8] = [SYSFS, CGROUP2, 0x0027_e0eb, 0x7363_6673, 0x6462_6720, 0x7472_6163, 0xcafe_4a11, 0x6165_676c];

/// A symlink met on the way to a path: where it is (absolute, inside the root) and where it points.
#[derive(Debug, PartialEq, Eq)]
pub struct Link {
    pub at: String,
    pub to: String,
}

impl Link {
    /// `/proc is a symlink in the rootfs (-> dev); refusing to mount there`
    pub fn refusal(&self, doing: &str) -> String {
        format!("{} is a symlink in the rootfs (-> {}); refusing to {doing}", self.at, self.to)
    }
}

#[derive(Debug)]
pub enum Refused {
    Link(Link),
    Errno(Errno),
}

/// `dest` relative to the root, cleaned lexically: `/a/./b/../c` is `a/c`, `..` stops at the root
/// (as RESOLVE_IN_ROOT does; without symlinks the kernel's walk and this one agree). `.` is the root.
pub fn relative(dest: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in dest.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() { ".".into() } else { parts.join("/") }
}

/// The parent of a relative path, None for the root itself.
pub fn parent(rel: &str) -> Option<&str> {
    match rel {
        "." => None,
        r => Some(r.rsplit_once('/').map_or(".", |(p, _)| p)),
    }
}

/// An O_PATH descriptor for `rel` inside `root`, following no symlink at all; when one is on the
/// way, which one.
pub fn open_strict(root: &OwnedFd, rel: &str, flags: OFlag) -> Result<OwnedFd, Refused> {
    match open_in_root_nofollow(root, rel, (OFlag::O_PATH | flags).bits()) {
        Ok(fd) => Ok(fd),
        Err(Errno::ELOOP) => Err(first_link(root, rel).map_or(Refused::Errno(Errno::ELOOP), Refused::Link)),
        Err(e) => Err(Refused::Errno(e)),
    }
}

/// The first component of `rel` that is a symlink, each parent opened strictly in turn.
pub fn first_link(root: &OwnedFd, rel: &str) -> Option<Link> {
    let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    for i in 0..parts.len() {
        let dir = if i == 0 { ".".to_string() } else { parts[..i].join("/") };
        let dirfd = open_in_root_nofollow(root, &dir, (OFlag::O_PATH | OFlag::O_DIRECTORY).bits()).ok()?;
        if let Ok(to) = nix::fcntl::readlinkat(&dirfd, parts[i]) {
            return Some(Link { at: format!("/{}", parts[..=i].join("/")), to: to.to_string_lossy().into_owned() });
        }
    }
    None
}

/// statfs magic of the filesystem `fd` is on (f_type's width differs by architecture; the magics
/// are 32-bit).
#[allow(clippy::unnecessary_cast)]
pub fn magic(fd: &OwnedFd) -> Result<i64, Errno> {
    nix::sys::statfs::fstatfs(fd).map(|s| s.filesystem_type().0 as i64 & 0xffff_ffff)
}

/// The kernel filesystem with this magic, if it is one.
pub fn kernel_fs(magic: i64) -> Option<&'static str> {
    KERNEL_FS.iter().find(|(m, _)| *m == magic).map(|(_, n)| *n)
}

/// The magic a fresh mount of `kind` must show once mounted; None where it may legitimately be
/// something else (cgroup: on v1 hosts the host's tmpfs of hierarchies is bound instead).
pub fn magic_of_kind(kind: &str) -> Option<(i64, &'static str)> {
    match kind {
        "proc" => Some((PROC, "procfs")),
        "sysfs" => Some((SYSFS, "sysfs")),
        "devpts" => Some((DEVPTS, "devpts")),
        "mqueue" => Some((MQUEUE, "mqueue")),
        "tmpfs" => Some((TMPFS, "tmpfs")),
        "cgroup2" => Some((CGROUP2, "cgroup2")),
        _ => None,
    }
}

/// For a path below /proc or /sys, the filesystem its directory must be on (a name and the
/// magics accepted). Other paths are not the kernel's: None.
pub fn home_of(rel: &str) -> Option<(&'static str, &'static [i64])> {
    const PROC_ONLY: [i64; 1] = [PROC];
    match rel.split('/').next() {
        Some("proc") if rel != "proc" => Some(("procfs", &PROC_ONLY)),
        Some("sys") if rel != "sys" => Some(("sysfs", &SYS_FAMILY)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_cleans_lexically_and_stops_at_the_root() {
        assert_eq!(relative("/proc"), "proc");
        assert_eq!(relative("/"), ".");
        assert_eq!(relative(""), ".");
        assert_eq!(relative("//dev/./pts/"), "dev/pts");
        assert_eq!(relative("/a/../../../proc/sys"), "proc/sys");
        assert_eq!(relative("/data/../proc"), "proc");
    }

    #[test]
    fn parent_walks_up_to_the_root() {
        assert_eq!(parent("proc/sys/vm"), Some("proc/sys"));
        assert_eq!(parent("proc"), Some("."));
        assert_eq!(parent("."), None);
    }

    #[test]
    fn refusal_names_the_link_and_its_target() {
        let l = Link { at: "/proc".into(), to: "dev".into() };
        assert_eq!(l.refusal("mount there"), "/proc is a symlink in the rootfs (-> dev); refusing to mount there");
    }

    #[test]
    fn kernel_filesystems_by_magic() {
        assert_eq!(kernel_fs(PROC), Some("procfs"));
        assert_eq!(kernel_fs(SYSFS), Some("sysfs"));
        assert_eq!(kernel_fs(CGROUP2), Some("cgroup2"));
        assert_eq!(kernel_fs(TMPFS), None, "tmpfs holds no kernel state");
        assert_eq!(kernel_fs(0xef53), None, "ext4");
    }

    #[test]
    fn fresh_mounts_have_a_known_magic_except_cgroup_v1() {
        assert_eq!(magic_of_kind("proc"), Some((PROC, "procfs")));
        assert_eq!(magic_of_kind("sysfs"), Some((SYSFS, "sysfs")));
        assert_eq!(magic_of_kind("tmpfs").map(|m| m.0), Some(TMPFS));
        assert_eq!(magic_of_kind("cgroup"), None);
        assert_eq!(magic_of_kind("bind"), None);
    }

    #[test]
    fn home_of_kernel_paths() {
        assert_eq!(home_of("proc/kcore").map(|h| h.0), Some("procfs"));
        assert_eq!(home_of("proc/sys/kernel").map(|h| h.1.to_vec()), Some(vec![PROC]));
        assert!(home_of("sys/firmware").is_some_and(|h| h.1.contains(&SYSFS) && h.1.contains(&CGROUP2)));
        assert_eq!(home_of("proc").map(|h| h.0), None, "/proc itself is checked as a mount, not a mask");
        assert_eq!(home_of("procfoo/x").map(|h| h.0), None);
        assert_eq!(home_of("etc/shadow").map(|h| h.0), None);
    }
}
