//! docker's anonymous volumes: a fresh directory holding what the image has at the volume's path,
//! as the overlay would show it (upper layers first, whiteouts hiding, opaque directories ending the
//! descent). Everything is read through descriptors beneath each layer, never through a symlink.

use std::collections::BTreeSet;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fchmod, fchmodat, fstatat, mkdirat, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};

use super::{Result, Store, StoreError};

const DIR: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY);

fn how(flags: OFlag) -> OpenHow {
    OpenHow::new().flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW).resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS)
}

fn err<'a>(op: &'static str, p: &'a Path) -> impl FnOnce(Errno) -> StoreError + 'a {
    move |errno| StoreError::Io { op, path: p.display().to_string(), errno }
}

/// Root's layers carry `trusted.overlay.opaque`, rootless ones `user.overlay.opaque` (layers may
/// carry neither themselves: unpacking refuses both).
fn opaque(fd: &OwnedFd) -> bool {
    ["trusted.overlay.opaque", "user.overlay.opaque"].iter().any(|attr| {
        let name = CString::new(*attr).expect("no NUL");
        let mut v = [0u8; 1];
        // SAFETY: fd is open; name and the one-byte buffer outlive the call.
        let n = unsafe { libc::fgetxattr(std::os::fd::AsRawFd::as_raw_fd(fd), name.as_ptr(), v.as_mut_ptr().cast(), 1) };
        n == 1 && v[0] == b'y'
    })
}

fn is_whiteout(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0
}

impl Store {
    /// Copies what `layers` (top first) show at `target` into the empty directory `dest`.
    pub fn populate_volume(&self, layers: &[PathBuf], target: &str, dest: &Path) -> Result<()> {
        if self.owners == crate::unpack::Owners::Mapped && !nix::unistd::geteuid().is_root() {
            // Owners of subordinate ids are kept in the copy: only root of the store's namespace may.
            return self.helper_populate(layers, target, dest);
        }
        let rel = target.trim_start_matches('/');
        if rel.split('/').any(|c| c == "..") {
            return Err(StoreError::invalid(format!("volume {target}"), "path contains \"..\""));
        }
        let mut dirs = Vec::new();
        for layer in layers {
            let root = nix::fcntl::open(layer.as_path(), DIR | OFlag::O_CLOEXEC, Mode::empty()).map_err(err("open layer", layer))?;
            let fd = if rel.is_empty() { openat(&root, ".", DIR | OFlag::O_CLOEXEC, Mode::empty()) } else { openat2(&root, rel, how(DIR)) };
            match fd {
                Ok(fd) => {
                    let stop = opaque(&fd);
                    dirs.push(fd);
                    if stop {
                        break;
                    }
                }
                // Not in this layer: look below, unless something here hides it (a whiteout, a file, a symlink).
                Err(Errno::ENOENT) if !self.hides(&root, rel) => continue,
                Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => break,
                Err(e) => return Err(err("open", &layer.join(rel))(e)),
            }
        }
        let out = nix::fcntl::open(dest, DIR | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW, Mode::empty()).map_err(err("open", dest))?;
        merge(&dirs, &out, dest)
    }

    /// Whether a prefix of `rel` in this layer is a whiteout, a non-directory or an opaque directory.
    fn hides(&self, root: &OwnedFd, rel: &str) -> bool {
        let mut cur = match openat(root, ".", DIR | OFlag::O_CLOEXEC, Mode::empty()) { Ok(f) => f, Err(_) => return true };
        for c in rel.split('/').filter(|c| !c.is_empty()) {
            match fstatat(&cur, c, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Err(_) => return false,
                Ok(st) if st.st_mode & libc::S_IFMT != libc::S_IFDIR => return true,
                Ok(_) => {}
            }
            cur = match openat2(&cur, c, how(DIR)) { Ok(f) => f, Err(_) => return true };
            if opaque(&cur) {
                return true;
            }
        }
        false
    }
}

/// One directory level: each name from the topmost layer that has it.
fn merge(dirs: &[OwnedFd], out: &OwnedFd, shown: &Path) -> Result<()> {
    let mut seen = BTreeSet::new();
    for (i, d) in dirs.iter().enumerate() {
        let dup = openat(d, ".", DIR | OFlag::O_CLOEXEC, Mode::empty()).map_err(err("open", shown))?;
        let mut listing = nix::dir::Dir::from_fd(dup).map_err(err("opendir", shown))?;
        let names: Vec<Vec<u8>> = listing.iter().filter_map(|e| e.ok()).map(|e| e.file_name().to_bytes().to_vec())
            .filter(|n| n != b"." && n != b"..").collect();
        for name in names {
            if !seen.insert(name.clone()) {
                continue;
            }
            let n = OsStr::from_bytes(&name);
            let p = shown.join(n);
            let st = fstatat(d, n, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(err("stat", &p))?;
            if is_whiteout(&st) {
                continue;
            }
            let (uid, gid, mode) = (Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)), Mode::from_bits_truncate(st.st_mode & 0o7777));
            match st.st_mode & libc::S_IFMT {
                libc::S_IFDIR => {
                    let top = openat2(d, n, how(DIR)).map_err(err("open", &p))?;
                    let stop = opaque(&top);
                    let mut children = vec![top];
                    for lower in dirs.iter().skip(i + 1).take_while(|_| !stop) {
                        match openat2(lower, n, how(DIR)) {
                            Ok(fd) => {
                                let o = opaque(&fd);
                                children.push(fd);
                                if o { break; }
                            }
                            Err(_) => break,
                        }
                    }
                    mkdirat(out, n, Mode::from_bits_truncate(0o700)).map_err(err("mkdir", &p))?;
                    let sub = openat2(out, n, how(DIR)).map_err(err("open", &p))?;
                    merge(&children, &sub, &p)?;
                    fchown(&sub, uid, gid).map_err(err("chown", &p))?;
                    fchmod(&sub, mode).map_err(err("chmod", &p))?;
                }
                libc::S_IFREG => {
                    let src = openat(d, n, OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()).map_err(err("open", &p))?;
                    let dst = openat(out, n, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::from_bits_truncate(0o600))
                        .map_err(err("create", &p))?;
                    std::io::copy(&mut File::from(src), &mut File::from(dst.try_clone().map_err(|e| StoreError::io("dup", &p, &e))?))
                        .map_err(|e| StoreError::io("copy", &p, &e))?;
                    fchown(dst.as_fd(), uid, gid).map_err(err("chown", &p))?;
                    fchmod(dst.as_fd(), mode).map_err(err("chmod", &p))?;
                }
                libc::S_IFLNK => {
                    let target = readlinkat(d, n).map_err(err("readlink", &p))?;
                    symlinkat(target.as_os_str(), out, n).map_err(err("symlink", &p))?;
                    fchownat(out, n, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(err("chown", &p))?;
                }
                kind => {
                    let k = SFlag::from_bits_truncate(kind);
                    mknodat(out, n, k, mode, st.st_rdev).map_err(err("mknod", &p))?;
                    fchownat(out, n, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(err("chown", &p))?;
                    fchmodat(out, n, mode, FchmodatFlags::FollowSymlink).map_err(err("chmod", &p))?;
                }
            }
        }
    }
    Ok(())
}
