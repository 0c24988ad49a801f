//! Sealed re-exec (runc CVE-2019-5736 class). Every process of ours that a container can see runs
//! the runtime's image until it execs (the clone child, exec's child, `--init`'s PID 1 forever), so
//! through `/proc/PID/exe` a container process could get a handle on our executable. Before `run`,
//! `create` and `exec` touch a container, the runtime therefore re-executes itself from a copy that
//! cannot be changed, with a scrubbed environment:
//!
//! - [`Mechanism::Bind`]: a detached, read-only bind of the binary (open_tree + mount_setattr). The
//!   exe stays the on-disk file, but reached through a mount that is read-only and in no mount
//!   namespace, so fchmod/fsetxattr/write through `/proc/PID/exe` get EROFS, and no one can make
//!   it writable again (it is not mounted anywhere). Needs CAP_SYS_ADMIN; copies nothing.
//! - [`Mechanism::Memfd`]: a sealed memfd copy (what runc did first): changes reach only our
//!   private, write-sealed copy. Works rootless; costs a copy of the binary per start and keeps
//!   that copy in memory while PID 1 of an `--init` container or a monitor runs.
//!
//! Whether we already run sealed is read from the exe itself (seals, or a read-only mount), never
//! from the environment, so there is no loop and a caller cannot skip the step; `NSBOX_SEAL`
//! only picks the mechanism. bench/README.md has the cost of each.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::{rule_wire, sys_wire};
use crate::syscalls;

const EXE: &str = "/proc/self/exe";
/// The only variables the runtime reads (state root and USER for its rootless rule, temp dir, helper lookup for newuidmap and
/// nft, nft's debug switch, where the seccomp cache lives) plus `NSBOX_SEAL` and the test-only
/// `NSBOX_TEST_STOP_AT` (nsbox-cgroups' test_stop_at); everything else of the caller's stays behind.
pub const ENV_KEEP: [&str; 12] =
    ["NSBOX_ROOT", "XDG_RUNTIME_DIR", "USER", "TMPDIR", "PATH", "NSBOX_NFT", "NSBOX_NFT_DEBUG", "NSBOX_SEAL", "NSBOX_CACHE", "XDG_CACHE_HOME", "HOME", "NSBOX_TEST_STOP_AT"];
/// Set on the re-exec: if it is present and the exe is still not sealed, something is wrong and we
/// stop rather than re-exec again. It never lets a run skip sealing.
const MARK: &str = "_NSBOX_SEALED";
/// The seals that make a memfd's contents final (F_SEAL_FUTURE_WRITE is added where the kernel has it).
const SEALS: i32 = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
const MFD_EXEC: libc::c_uint = 0x10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Memfd,
    Bind,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Memfd => "memfd",
            Mechanism::Bind => "bind",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("sealed re-exec({EXE}): ERR_NOT_SEALED: re-executed, but the executable is still not sealed")]
    StillUnsealed,
    #[error("sealed re-exec(NSBOX_SEAL): ERR_INVALID: {0:?} is not memfd or bind")]
    BadChoice(String),
    /// Both mechanisms failed: the preferred one's error, then the fallback's.
    #[error("{0}; then {1}")]
    Both(Box<SealError>, Box<SealError>),
}

impl SealError {
    pub fn to_wire(&self) -> WireError {
        match self {
            SealError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            SealError::StillUnsealed => {
                rule_wire("ERR_NOT_SEALED", "sealed re-exec", EXE, "re-executed, but the executable is still not sealed")
            }
            SealError::BadChoice(v) => rule_wire("ERR_INVALID", "sealed re-exec", "NSBOX_SEAL", &format!("{v:?} is not memfd or bind")),
            SealError::Both(first, then) => {
                let mut w = first.to_wire();
                w.message = format!("{}; then {}", w.message, then);
                w
            }
        }
    }
}

type Result<T> = std::result::Result<T, SealError>;

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> SealError {
    let path = path.to_string();
    move |errno| SealError::Sys { op, path, errno }
}

/// How the file behind `exe` is protected from change, if it is: write-sealed memfd, or on a
/// read-only mount (ours, or a read-only install, which is as good).
pub fn sealed_by(exe: BorrowedFd) -> Option<Mechanism> {
    // SAFETY: F_GET_SEALS only reads flags of a descriptor we borrow; EINVAL for non-memfds.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & SEALS == SEALS {
        return Some(Mechanism::Memfd);
    }
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: st is a valid out-buffer of the right type for fstatvfs.
    if unsafe { libc::fstatvfs(exe.as_raw_fd(), st.as_mut_ptr()) } == 0 {
        // SAFETY: fstatvfs succeeded, so it filled st.
        let st = unsafe { st.assume_init() };
        if st.f_flag & libc::ST_RDONLY != 0 {
            return Some(Mechanism::Bind);
        }
    }
    None
}

/// Returns when the runtime already runs from a sealed executable; otherwise re-executes itself
/// sealed (same argv and inherited descriptors, scrubbed environment) and does not return.
pub fn ensure() -> Result<()> {
    let exe = open_exe()?;
    if sealed_by(exe.as_fd()).is_some() {
        if std::env::var_os(MARK).is_some() {
            restore_comm();
        }
        return Ok(());
    }
    if std::env::var_os(MARK).is_some() {
        return Err(SealError::StillUnsealed);
    }
    let order = match std::env::var_os("NSBOX_SEAL") {
        None => [Mechanism::Bind, Mechanism::Memfd],
        Some(v) if v == "bind" => [Mechanism::Bind, Mechanism::Memfd],
        Some(v) if v == "memfd" => [Mechanism::Memfd, Mechanism::Bind],
        Some(v) => return Err(SealError::BadChoice(v.to_string_lossy().into_owned())),
    };
    let argv = cstrings(std::env::args_os())?;
    let envp = cstrings(scrubbed_env(std::env::vars_os()))?;
    // An exec that goes through does not return; each failure is kept for the report.
    let attempt = |m| match prepare(m, &exe) {
        Ok(fd) => exec_fd(&fd, &argv, &envp),
        Err(e) => e,
    };
    let first = attempt(order[0]);
    Err(SealError::Both(Box::new(first), Box::new(attempt(order[1]))))
}

/// execveat names the process after the memfd ("memfd:nsbox-run") or, on older kernels, after the
/// fd number; ps, and the checks that look for our processes, expect what a plain exec gives.
fn restore_comm() {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let base = std::path::Path::new(&argv0).file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
    if let Ok(name) = CString::new(base) {
        // The kernel truncates to 15 bytes itself; failure only leaves the name as it was.
        let _ = nix::sys::prctl::set_name(&name);
    }
}

fn open_exe() -> Result<OwnedFd> {
    nix::fcntl::open(EXE, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(sys("open", EXE))
}

/// A descriptor to exec from: the sealed memfd copy, or the binary on a detached read-only mount.
fn prepare(m: Mechanism, exe: &OwnedFd) -> Result<OwnedFd> {
    match m {
        Mechanism::Memfd => memfd_copy(exe),
        Mechanism::Bind => ro_bind(),
    }
}

/// The caller's environment reduced to [`ENV_KEEP`], plus the re-exec mark.
pub fn scrubbed_env(vars: impl Iterator<Item = (OsString, OsString)>) -> Vec<OsString> {
    let mut out: Vec<OsString> = vars
        .filter(|(k, _)| ENV_KEEP.iter().any(|keep| OsStr::new(keep) == k))
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    out.push(format!("{MARK}=1").into());
    out
}

fn cstrings(items: impl IntoIterator<Item = OsString>) -> Result<Vec<CString>> {
    items.into_iter().map(|s| CString::new(s.as_bytes()).map_err(|_| sys("execveat", EXE)(Errno::EINVAL))).collect()
}

fn memfd_copy(exe: &OwnedFd) -> Result<OwnedFd> {
    let name = c"nsbox-runtime";
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // MFD_EXEC says "executable on purpose" where vm.memfd_noexec asks; older kernels reject it.
    // SAFETY: name is a valid C string; the kernel returns a new descriptor or -1.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if fd < 0 && Errno::last() == Errno::EINVAL {
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    let memfd = Errno::result(fd).map_err(sys("memfd_create", "nsbox-runtime"))?;
    // SAFETY: memfd_create just returned this descriptor and nothing else owns it.
    let memfd = unsafe { OwnedFd::from_raw_fd(memfd) };
    let size = nix::sys::stat::fstat(exe).map_err(sys("fstat", EXE))?.st_size as usize;
    let mut left = size;
    while left > 0 {
        // SAFETY: both descriptors are valid; a NULL offset reads from exe's file position.
        let n = unsafe { libc::sendfile(memfd.as_raw_fd(), exe.as_raw_fd(), std::ptr::null_mut(), left) };
        match Errno::result(n) {
            Ok(0) => return Err(sys("sendfile", EXE)(Errno::EIO)),
            Ok(n) => left -= n as usize,
            Err(Errno::EINTR) => {}
            Err(errno) => return Err(sys("sendfile", EXE)(errno)),
        }
    }
    // SAFETY: F_ADD_SEALS on our own memfd; it has no writable mappings, so F_SEAL_WRITE applies.
    let r = unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS | libc::F_SEAL_FUTURE_WRITE) };
    if r < 0 {
        // Kernels before 5.1 have no F_SEAL_FUTURE_WRITE; F_SEAL_WRITE alone already forbids writes.
        // SAFETY: as above.
        let r = unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) };
        Errno::result(r).map_err(sys("fcntl F_ADD_SEALS", "memfd:nsbox-runtime"))?;
    }
    Ok(memfd)
}

fn ro_bind() -> Result<OwnedFd> {
    let tree = syscalls::open_tree(None, EXE, syscalls::OPEN_TREE_CLONE | syscalls::OPEN_TREE_CLOEXEC).map_err(sys("open_tree", EXE))?;
    syscalls::mount_setattr_fd(&tree, syscalls::MOUNT_ATTR_RDONLY, false).map_err(sys("mount_setattr MOUNT_ATTR_RDONLY", EXE))?;
    Ok(tree)
}

/// execveat(fd, "", AT_EMPTY_PATH): returns only on failure. `fd` is close-on-exec, which is fine
/// for an ELF binary (only scripts need their fd after exec).
fn exec_fd(fd: &OwnedFd, argv: &[CString], envp: &[CString]) -> SealError {
    let ptrs = |v: &[CString]| v.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect::<Vec<_>>();
    let (a, e) = (ptrs(argv), ptrs(envp));
    // SAFETY: a and e are NULL-terminated arrays of pointers to C strings that outlive the call.
    unsafe { libc::syscall(libc::SYS_execveat, fd.as_raw_fd(), c"".as_ptr(), a.as_ptr(), e.as_ptr(), libc::AT_EMPTY_PATH) };
    sys("execveat", EXE)(Errno::last())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_file() -> (std::path::PathBuf, std::fs::File) {
        let p = std::env::temp_dir().join(format!("nsbox-sealed-test-{}-{:?}", std::process::id(), std::thread::current().id()));
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(b"\x7fELF not really").unwrap();
        (p, f)
    }

    #[test]
    fn a_plain_file_is_not_sealed() {
        let (p, f) = temp_file();
        assert_eq!(sealed_by(f.as_fd()), None);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_write_sealed_memfd_is_sealed_and_a_partly_sealed_one_is_not() {
        let (p, _) = temp_file();
        let copy = memfd_copy(&OwnedFd::from(std::fs::File::open(&p).unwrap())).unwrap();
        assert_eq!(sealed_by(copy.as_fd()), Some(Mechanism::Memfd));
        let w = nix::unistd::write(&copy, b"x");
        assert_eq!(w, Err(Errno::EPERM), "the seal forbids writes");
        // SAFETY: a fresh memfd of our own; only F_SEAL_SHRINK, so it must not count as sealed.
        let fd = unsafe { OwnedFd::from_raw_fd(libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)) };
        // SAFETY: adds one seal to our own memfd.
        assert_eq!(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK) }, 0);
        assert_eq!(sealed_by(fd.as_fd()), None);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_file_through_a_detached_read_only_bind_is_sealed() {
        if !nix::unistd::geteuid().is_root() && std::env::var_os("NSBOX_REQUIRE_PRIV").is_none() {
            eprintln!("NOT RUN: open_tree needs CAP_SYS_ADMIN");
            return;
        }
        let (p, f) = temp_file();
        let tree = syscalls::open_tree(None, p.to_str().unwrap(), syscalls::OPEN_TREE_CLONE | syscalls::OPEN_TREE_CLOEXEC).unwrap();
        assert_eq!(sealed_by(tree.as_fd()), None, "the clone is writable until mount_setattr");
        syscalls::mount_setattr_fd(&tree, syscalls::MOUNT_ATTR_RDONLY, false).unwrap();
        assert_eq!(sealed_by(tree.as_fd()), Some(Mechanism::Bind));
        let through = format!("/proc/self/fd/{}", tree.as_raw_fd());
        let e = std::fs::OpenOptions::new().write(true).open(&through).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS));
        assert_eq!(sealed_by(f.as_fd()), None, "the file itself, on its own mount, is not");
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn the_environment_keeps_only_what_the_runtime_reads() {
        let vars = [("PATH", "/bin"), ("NSBOX_ROOT", "/r"), ("SECRET", "x"), ("NSBOX_ROOTX", "y"), ("XDG_RUNTIME_DIR", "/x")];
        let env = scrubbed_env(vars.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))));
        assert_eq!(env, ["PATH=/bin", "NSBOX_ROOT=/r", "XDG_RUNTIME_DIR=/x", "_NSBOX_SEALED=1"].map(OsString::from));
    }
}
