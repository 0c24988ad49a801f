//! A cache of the BPF programs libseccomp compiled, so that a container start costs one file read
//! instead of a compile (~12 ms for docker's default profile with libseccomp 2.5; the load itself
//! is well under a millisecond).
//!
//! - Key: sha256 of the canonical `linux.seccomp` JSON (serde's field order), the native
//!   architecture, libseccomp's version, this crate's version and the kernel release (the
//!   config's flags were checked against the kernel at compile time). Anything that could make
//!   libseccomp generate another program is in the key, so an entry never goes stale.
//! - Value: libseccomp's exported program, byte for byte.
//! - Where: `NSBOX_CACHE`, else `/var/cache/nsbox` as root and `$XDG_CACHE_HOME/nsbox` (or
//!   `~/.cache/nsbox`) otherwise, in `seccomp/`: a cache, not a container's state, so it lives
//!   where caches do and never in the state root (a failed or foreground run leaves the state
//!   root as it found it). The directory is 0700 and must be owned by us, files 0600; whoever can
//!   write there could weaken every later container's filter, so a directory anyone else could
//!   write to is not used at all. An entry is written under a temporary name
//!   from an O_TMPFILE and renamed into place, so a reader sees a whole program or none.
//! - Read: a regular file of ours, a whole number of instructions, at most the kernel's limit;
//!   anything else is ignored (and recompiled over).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use sha2::{Digest, Sha256};

/// BPF_MAXINSNS instructions of 8 bytes.
const MAX_BYTES: u64 = 4096 * 8;

/// The cache's base directory (see the module doc); None when no place can be named.
pub(super) fn location() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var("NSBOX_CACHE") {
        return Some(p);
    }
    if nix::unistd::geteuid().is_root() {
        return Some(PathBuf::from("/var/cache/nsbox"));
    }
    var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache"))).map(|c| c.join("nsbox"))
}

/// The cache directory under `base`, created if missing; None when it is not safe to use.
pub(super) fn dir(base: &Path) -> Option<PathBuf> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(base).ok()?;
    let dir = base.join("seccomp");
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    let m = std::fs::symlink_metadata(&dir).ok()?;
    let ours = m.file_type().is_dir() && m.uid() == nix::unistd::geteuid().as_raw() && m.mode() & 0o077 == 0;
    ours.then_some(dir)
}

pub(super) fn key(config_json: &[u8]) -> String {
    let mut h = Sha256::new();
    let kernel = nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default();
    for part in [
        config_json,
        std::env::consts::ARCH.as_bytes(),
        nsbox_seccomp::filter::libseccomp_version().as_bytes(),
        env!("CARGO_PKG_VERSION").as_bytes(),
        kernel.as_bytes(),
    ] {
        // Length-prefixed, so that no two different inputs hash the same bytes.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn read(dir: &Path, key: &str) -> Option<Vec<u8>> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir.join(format!("{key}.bpf")))
        .ok()?;
    let m = f.metadata().ok()?;
    let ok = m.file_type().is_file() && m.uid() == nix::unistd::geteuid().as_raw() && m.len() > 0 && m.len() <= MAX_BYTES && m.len().is_multiple_of(8);
    if !ok {
        return None;
    }
    let mut bytes = Vec::with_capacity(m.len() as usize);
    f.read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 == m.len()).then_some(bytes)
}

pub(super) fn write(dir: &Path, key: &str, bytes: &[u8]) -> Result<(), Errno> {
    let dir_c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: a plain open(2) of a NUL-terminated path; the fd is owned at once.
    let raw = unsafe { libc::open(dir_c.as_ptr(), libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC, 0o600) };
    // SAFETY: `raw` is a new descriptor only we hold (checked non-negative first).
    let fd = unsafe { OwnedFd::from_raw_fd(Errno::result(raw)?) };
    let mut f = File::from(fd);
    f.write_all(bytes).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let tmp = dir.join(format!(".{key}.{}.tmp", std::process::id()));
    let proc_path = format!("/proc/self/fd/{}", f.as_raw_fd());
    nix::unistd::linkat(
        nix::fcntl::AT_FDCWD,
        proc_path.as_str(),
        nix::fcntl::AT_FDCWD,
        &tmp,
        nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
    )?;
    std::fs::rename(&tmp, dir.join(format!("{key}.bpf"))).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_bad_ones_are_ignored() {
        let root = std::env::temp_dir().join(format!("nsbox-seccomp-cache-{}", std::process::id()));
        let dir = dir(&root).expect("cache dir");
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        let k = key(b"{}");
        assert_ne!(k, key(b"{} "));
        assert!(read(&dir, &k).is_none());
        write(&dir, &k, &[1u8; 16]).unwrap();
        assert_eq!(read(&dir, &k), Some(vec![1u8; 16]));
        assert_eq!(std::fs::metadata(dir.join(format!("{k}.bpf"))).unwrap().mode() & 0o777, 0o600);
        // Replaced atomically; a torn entry (not whole instructions) reads as none.
        write(&dir, &k, &[2u8; 12]).unwrap();
        assert!(read(&dir, &k).is_none());
        // A directory others may write to is not used.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        assert!(super::dir(&root).is_none());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
