//! Creating one tar entry inside the layer directory. Every name is resolved component by component
//! with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) from the layer's own descriptor, so nothing
//! can be created outside it: `..` and absolute names are refused before any lookup, and a name
//! whose directories include a symlink fails ELOOP (refused, naming the entry). The last component
//! is always created fresh (O_EXCL, mknodat, symlinkat), never opened through a link.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fchmod, fchmodat, fstatat, futimens, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use super::{Owners, Result, UnpackError};

pub enum Kind {
    File,
    Dir,
    Symlink(String),
    Hardlink(String),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
}

pub struct Entry {
    pub name: String,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// A directory's path components, mtime and (with one id) mode, set by finish().
type DirLate = (Vec<String>, i64, Option<u32>);

pub struct LayerDir {
    root: OwnedFd,
    owners: Owners,
    /// Rootless: device nodes skipped, xattrs dropped (names, for the notes).
    skipped: std::cell::RefCell<(Vec<String>, Vec<String>)>,
    /// Directories' mtimes, set at the end (creating entries inside changes them), and, with the
    /// user's one id, their modes (a `dr-xr-xr-x` directory listed before its files would stop
    /// their creation: without root's DAC override even its owner may not write into it).
    dir_times: std::cell::RefCell<Vec<DirLate>>,
}

fn sys<'a>(entry: &'a str, op: &'static str) -> impl FnOnce(Errno) -> UnpackError + 'a {
    move |errno| UnpackError::Sys { entry: entry.to_owned(), op, errno }
}

fn refused(entry: &str, why: impl Into<String>) -> UnpackError {
    UnpackError::Refused { entry: entry.to_owned(), why: why.into() }
}

/// `a/./b/` → [a, b]; `..` anywhere and absolute names are refused (tar writers never need them).
fn components<'a>(entry: &str, name: &'a str) -> Result<Vec<&'a str>> {
    if name.starts_with('/') {
        return Err(refused(entry, "absolute path"));
    }
    let parts: Vec<&str> = name.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if parts.contains(&"..") {
        return Err(refused(entry, "path contains \"..\""));
    }
    Ok(parts)
}

fn beneath(flags: OFlag) -> OpenHow {
    OpenHow::new().flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW).resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS)
}

const DIR: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY);

impl LayerDir {
    pub fn open(dest: &Path, owners: Owners) -> Result<LayerDir> {
        let root = nix::fcntl::open(dest, DIR | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW, Mode::empty())
            .map_err(|errno| UnpackError::Open { path: dest.display().to_string(), errno })?;
        Ok(LayerDir { root, owners, skipped: Default::default(), dir_times: Default::default() })
    }

    /// The directory holding `parts` (all but the last), made when missing (tar may omit parents).
    fn parent(&self, entry: &str, parts: &[&str], create: bool) -> Result<OwnedFd> {
        let mut cur = openat(&self.root, ".", DIR | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys(entry, "open layer dir"))?;
        for c in parts {
            let next = match openat2(&cur, *c, beneath(DIR)) {
                Err(Errno::ENOENT) if create => {
                    mkdirat(&cur, *c, Mode::from_bits_truncate(0o755)).map_err(sys(entry, "mkdir parent"))?;
                    openat2(&cur, *c, beneath(DIR))
                }
                r => r,
            };
            // O_NOFOLLOW | O_DIRECTORY on a symlink is ENOTDIR: say which it was.
            let is_link = |cur: &OwnedFd| fstatat(cur, *c, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK);
            cur = match next {
                Ok(fd) => fd,
                Err(Errno::ELOOP) => return Err(refused(entry, format!("path goes through the symlink {c:?}"))),
                Err(Errno::ENOTDIR) if is_link(&cur) => return Err(refused(entry, format!("path goes through the symlink {c:?}"))),
                Err(Errno::ENOTDIR) => return Err(refused(entry, format!("path goes through {c:?}, which is not a directory"))),
                Err(Errno::EXDEV) => return Err(refused(entry, "path leaves the layer directory")),
                Err(e) => return Err(sys(entry, "open parent")(e)),
            };
        }
        Ok(cur)
    }

    pub fn create(&self, e: &Entry, body: &mut dyn Read) -> Result<()> {
        let n = e.name.as_str();
        let parts = components(n, n)?;
        let Some((last, dirs)) = parts.split_last() else {
            // `./`: the layer's root directory itself.
            if matches!(e.kind, Kind::Dir) {
                self.meta_fd(e, &self.root)?;
                self.dir_times.borrow_mut().push((Vec::new(), e.mtime, self.late_mode(e)));
            }
            return Ok(());
        };
        let parent = self.parent(n, dirs, true)?;
        if *last == OPAQUE {
            return set_xattr(n, &parent, self.owners.opaque_xattr(), b"y");
        }
        if let Some(hidden) = last.strip_prefix(WHITEOUT) {
            if hidden.is_empty() || hidden.starts_with(WHITEOUT) {
                return Err(refused(n, "unsupported whiteout name"));
            }
            remove_any(n, &parent, hidden, false)?;
            return mknodat(&parent, hidden, SFlag::S_IFCHR, Mode::empty(), 0).map_err(sys(n, "mknod whiteout"));
        }
        let is_dir = matches!(e.kind, Kind::Dir);
        remove_any(n, &parent, last, is_dir)?;
        let mode = Mode::from_bits_truncate(e.mode);
        match &e.kind {
            Kind::File => {
                let fd = openat(&parent, *last, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::from_bits_truncate(0o600))
                    .map_err(sys(n, "create file"))?;
                let mut f = File::from(fd);
                io::copy(body, &mut f).map_err(|err| match err.raw_os_error() {
                    Some(code) => sys(n, "write file")(Errno::from_raw(code)),
                    None => UnpackError::Read(err),
                })?;
                self.meta_fd(e, &f)?;
            }
            Kind::Dir => {
                match mkdirat(&parent, *last, Mode::from_bits_truncate(0o700)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(err) => return Err(sys(n, "mkdir")(err)),
                }
                let fd = openat2(&parent, *last, beneath(DIR)).map_err(sys(n, "open dir"))?;
                self.meta_fd(e, &fd)?;
                self.dir_times.borrow_mut().push((parts.iter().map(|s| s.to_string()).collect(), e.mtime, self.late_mode(e)));
            }
            Kind::Symlink(target) => {
                if !e.xattrs.is_empty() {
                    return Err(refused(n, "extended attributes on a symlink are not supported"));
                }
                symlinkat(target.as_str(), &parent, *last).map_err(sys(n, "symlink"))?;
                self.meta_at(e, &parent, last, false)?;
            }
            Kind::Hardlink(target) => {
                let tparts = components(n, target)?;
                let Some((tlast, tdirs)) = tparts.split_last() else { return Err(refused(n, "hard link to the layer's root")) };
                let tparent = self.parent(n, tdirs, false)?;
                linkat(&tparent, *tlast, &parent, *last, AtFlags::empty()).map_err(|e| match e {
                    Errno::ENOENT => refused(n, format!("hard link target {target:?} is not earlier in this layer")),
                    e => sys(n, "link")(e),
                })?;
            }
            Kind::Char(..) | Kind::Block(..) if self.owners.rootless() => {
                // Only the host's root may make device nodes: skipped, as podman does rootless.
                self.skipped.borrow_mut().0.push(n.to_owned());
            }
            Kind::Char(ma, mi) | Kind::Block(ma, mi) => {
                let kind = if matches!(e.kind, Kind::Char(..)) { SFlag::S_IFCHR } else { SFlag::S_IFBLK };
                mknodat(&parent, *last, kind, mode, libc::makedev(*ma, *mi)).map_err(sys(n, "mknod"))?;
                self.meta_at(e, &parent, last, true)?;
            }
            Kind::Fifo => {
                mknodat(&parent, *last, SFlag::S_IFIFO, mode, 0).map_err(sys(n, "mkfifo"))?;
                self.meta_at(e, &parent, last, true)?;
            }
        }
        Ok(())
    }

    /// Owner, then mode (chown clears setuid/setgid), xattrs, times — on a descriptor.
    fn meta_fd(&self, e: &Entry, fd: &impl AsFd) -> Result<()> {
        let n = e.name.as_str();
        if self.owners != Owners::Caller {
            fchown(fd, Some(Uid::from_raw(e.uid)), Some(Gid::from_raw(e.gid))).map_err(|errno| self.chown_err(e, errno))?;
        }
        // A directory stays writable for us until finish() when its mode is set late.
        let mode = if self.late_mode(e).is_some() { e.mode | 0o700 } else { e.mode };
        fchmod(fd, Mode::from_bits_truncate(mode)).map_err(sys(n, "chmod"))?;
        for (k, v) in &e.xattrs {
            if k.starts_with("trusted.overlay.") || k.starts_with("user.overlay.") {
                return Err(refused(n, format!("overlayfs's own attribute {k:?} in a layer")));
            }
            match set_xattr(n, fd, k, v) {
                // Rootless: trusted.*, security.* other than capabilities, … are the host's to set.
                Err(UnpackError::Sys { errno: Errno::EPERM | Errno::EACCES | Errno::ENOTSUP | Errno::EINVAL, .. }) if self.owners.rootless() => {
                    self.skipped.borrow_mut().1.push(format!("{k} on {n}"));
                }
                r => r?,
            }
        }
        if !matches!(e.kind, Kind::Dir) {
            let t = TimeSpec::new(e.mtime, 0);
            futimens(fd, &t, &t).map_err(sys(n, "utimens"))?;
        }
        Ok(())
    }

    /// The same for entries that cannot be opened (symlinks, device nodes, fifos).
    fn meta_at(&self, e: &Entry, parent: &OwnedFd, last: &str, chmod: bool) -> Result<()> {
        let n = e.name.as_str();
        if self.owners != Owners::Caller {
            fchownat(parent, last, Some(Uid::from_raw(e.uid)), Some(Gid::from_raw(e.gid)), AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|errno| self.chown_err(e, errno))?;
        }
        if chmod {
            // The node was just made by us in a directory only we write: no link can stand in for it.
            fchmodat(parent, last, Mode::from_bits_truncate(e.mode), FchmodatFlags::FollowSymlink).map_err(sys(n, "chmod"))?;
            if let Some((k, v)) = e.xattrs.first() {
                return Err(refused(n, format!("extended attribute {k:?} ({} bytes) on a special file is not supported", v.len())));
            }
        }
        let t = TimeSpec::new(e.mtime, 0);
        utimensat(parent, last, &t, &t, UtimensatFlags::NoFollowSymlink).map_err(sys(n, "utimens"))
    }

    /// The mode a directory gets in finish() rather than now (the user's one id only).
    fn late_mode(&self, e: &Entry) -> Option<u32> {
        (self.owners == Owners::Caller && matches!(e.kind, Kind::Dir) && e.mode & 0o700 != 0o700).then_some(e.mode)
    }

    /// In a user namespace an owner outside its ranges cannot be set (EINVAL): refused, naming it.
    fn chown_err(&self, e: &Entry, errno: Errno) -> UnpackError {
        if self.owners == Owners::Mapped && errno == Errno::EINVAL {
            return refused(&e.name, format!("owner {}:{} is outside the user's subordinate id ranges (/etc/subuid, /etc/subgid)", e.uid, e.gid));
        }
        sys(&e.name, "chown")(errno)
    }

    /// Directories' mtimes, deepest first (a parent's would change again otherwise); returns the
    /// notes of what rootless unpacking left out.
    pub fn finish(&self) -> Result<Vec<String>> {
        let mut times = self.dir_times.take();
        times.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.len()));
        for (parts, mtime, mode) in times {
            let name = parts.join("/");
            let fd = if parts.is_empty() {
                openat(&self.root, ".", DIR | OFlag::O_CLOEXEC, Mode::empty())
            } else {
                openat2(&self.root, name.as_str(), beneath(DIR))
            }
            .map_err(sys(&name, "open dir"))?;
            if let Some(m) = mode {
                fchmod(&fd, Mode::from_bits_truncate(m)).map_err(sys(&name, "chmod"))?;
            }
            let t = TimeSpec::new(mtime, 0);
            futimens(&fd, &t, &t).map_err(sys(&name, "utimens"))?;
        }
        let (devices, xattrs) = self.skipped.take();
        let mut notes = Vec::new();
        for (what, list) in [("device node(s) skipped (rootless cannot make them)", devices), ("xattr(s) dropped (the user may not set them)", xattrs)] {
            if !list.is_empty() {
                let more = if list.len() > 5 { format!(", … {} more", list.len() - 5) } else { String::new() };
                notes.push(format!("{} {what}: {}{more}", list.len(), list[..list.len().min(5)].join(", ")));
            }
        }
        Ok(notes)
    }
}

fn set_xattr(entry: &str, fd: &impl AsFd, key: &str, value: &[u8]) -> Result<()> {
    let k = CString::new(key).map_err(|_| refused(entry, "xattr name with a NUL byte"))?;
    // SAFETY: fd is open for the call's duration; k and value are valid for their lengths.
    let r = unsafe { libc::fsetxattr(fd.as_fd().as_raw_fd(), k.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    Errno::result(r).map(drop).map_err(|errno| UnpackError::Sys { entry: format!("{entry} (xattr {key})"), op: "setxattr", errno })
}

/// Makes room for a new entry: what a lower entry of the same layer left there goes (a directory
/// stays when a directory comes again: tar lists a directory before its contents).
fn remove_any(entry: &str, parent: &OwnedFd, name: &str, keep_dir: bool) -> Result<()> {
    let st = match fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(sys(entry, "stat")(e)),
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return unlinkat(parent, name, UnlinkatFlags::NoRemoveDir).map_err(sys(entry, "unlink"));
    }
    if keep_dir {
        return Ok(());
    }
    remove_tree(entry, parent, name)
}

fn remove_tree(entry: &str, parent: &OwnedFd, name: &str) -> Result<()> {
    let fd = openat2(parent, name, beneath(DIR)).map_err(sys(entry, "open dir"))?;
    let mut dir = nix::dir::Dir::from_fd(fd).map_err(sys(entry, "opendir"))?;
    let names: Vec<CString> = dir
        .iter()
        .filter_map(|d| d.ok())
        .map(|d| d.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    let dfd = openat2(parent, name, beneath(DIR)).map_err(sys(entry, "open dir"))?;
    for child in names {
        let child = std::ffi::OsStr::from_bytes(child.as_bytes()).to_string_lossy().into_owned();
        remove_any(entry, &dfd, &child, false)?;
    }
    unlinkat(parent, name, UnlinkatFlags::RemoveDir).map_err(sys(entry, "rmdir"))
}
