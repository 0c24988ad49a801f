//! Calls nix does not wrap yet (the new mount API, clone3, openat2, close_range), as thin typed
//! wrappers. Each returns the kernel's errno untouched.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

pub const OPEN_TREE_CLONE: u32 = 1;
pub const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
pub const AT_RECURSIVE: u32 = 0x8000;
pub const AT_EMPTY_PATH: u32 = libc::AT_EMPTY_PATH as u32;
pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

fn cstr(p: &str) -> Result<CString, Errno> {
    CString::new(p).map_err(|_| Errno::EINVAL)
}

fn fd_result(ret: libc::c_long) -> Result<OwnedFd, Errno> {
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// A detached copy of the mount (tree) at `path`, relative to `dirfd` (or the cwd).
pub fn open_tree(dirfd: Option<RawFd>, path: &str, flags: u32) -> Result<OwnedFd, Errno> {
    let p = cstr(path)?;
    // SAFETY: p outlives the call; the kernel validates dirfd and flags.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, dirfd.unwrap_or(libc::AT_FDCWD), p.as_ptr(), flags) };
    fd_result(ret)
}

/// Attaches the detached tree `from` onto the directory (or file) that `to` refers to.
pub fn move_mount_fd(from: &OwnedFd, to: &OwnedFd) -> Result<(), Errno> {
    let empty = c"";
    // SAFETY: both descriptors are valid for the call; empty paths with the *_EMPTY_PATH flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            empty.as_ptr(),
            to.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(ret).map(drop)
}

/// Attaches the detached tree `from` at `path`.
pub fn move_mount_path(from: &OwnedFd, path: &str) -> Result<(), Errno> {
    let p = cstr(path)?;
    let empty = c"";
    // SAFETY: descriptor and strings are valid for the duration of the call.
    let ret = unsafe {
        libc::syscall(libc::SYS_move_mount, from.as_raw_fd(), empty.as_ptr(), libc::AT_FDCWD, p.as_ptr(), MOVE_MOUNT_F_EMPTY_PATH)
    };
    Errno::result(ret).map(drop)
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Sets mount attributes (e.g. read-only) on the mount `fd` refers to, and with `recursive` on
/// every mount below it: one call instead of a remount per submount.
pub fn mount_setattr_fd(fd: &OwnedFd, set: u64, recursive: bool) -> Result<(), Errno> {
    mount_setattr(fd, set, 0, 0, recursive)
}

/// mount_setattr(2) in full: attributes to set and to clear (MOUNT_ATTR_*; the atime field is
/// cleared as a whole), and a propagation type (MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE; 0:
/// unchanged).
pub fn mount_setattr(fd: &OwnedFd, set: u64, clr: u64, propagation: u64, recursive: bool) -> Result<(), Errno> {
    let mut attr = MountAttr { attr_set: set, attr_clr: clr, propagation, userns_fd: 0 };
    let flags = AT_EMPTY_PATH | if recursive { AT_RECURSIVE } else { 0 };
    let empty = c"";
    // SAFETY: attr is a properly laid out struct mount_attr of the size we pass.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            flags,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(ret).map(drop)
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2 with RESOLVE_IN_ROOT: `path` is looked up as if `root` were `/`, so symlinks (even
/// absolute ones) cannot lead out of the container's root.
pub fn open_in_root(root: &OwnedFd, path: &str, flags: i32) -> Result<OwnedFd, Errno> {
    openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
}

/// As [`open_in_root`], but any symlink on the way (the last component too) fails with ELOOP:
/// for the places a malicious rootfs must not be able to redirect (/proc, /sys, /dev, masks).
pub fn open_in_root_nofollow(root: &OwnedFd, path: &str, flags: i32) -> Result<OwnedFd, Errno> {
    openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
}

fn openat2(root: &OwnedFd, path: &str, flags: i32, resolve: u64) -> Result<OwnedFd, Errno> {
    let p = cstr(path)?;
    let mut how = OpenHow { flags: (flags | libc::O_CLOEXEC) as u64, mode: 0, resolve };
    // SAFETY: how is a valid struct open_how of the size passed; p outlives the call.
    let ret = unsafe {
        libc::syscall(libc::SYS_openat2, root.as_raw_fd(), p.as_ptr(), &mut how as *mut OpenHow, std::mem::size_of::<OpenHow>())
    };
    fd_result(ret)
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Forks with namespace flags (clone3, falling back to clone where clone3 is missing). Returns 0 in
/// the child and the child's pid in the parent, like fork.
///
/// # Safety
/// Same contract as fork(2): the caller must be single-threaded (nsbox-runtime is), and the child
/// may only do what is safe after fork before it execs or exits.
pub unsafe fn clone_with_flags(flags: u64) -> Result<libc::pid_t, Errno> {
    let mut args = CloneArgs { flags, exit_signal: libc::SIGCHLD as u64, ..Default::default() };
    // SAFETY: args is a valid struct clone_args; no stack given, so the child runs on a copy of
    // ours, exactly as with fork. Guaranteed by the caller's contract above.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>()) };
    if ret >= 0 {
        return Ok(ret as libc::pid_t);
    }
    if Errno::last() != Errno::ENOSYS {
        return Err(Errno::last());
    }
    // SAFETY: as above; on x86_64 and aarch64 a NULL stack makes clone behave like fork.
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD as u64, 0usize, 0usize, 0usize, 0usize) };
    Errno::result(ret).map(|r| r as libc::pid_t)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, value): the I/O priority of the calling thread.
pub fn ioprio_set(value: u32) -> Result<(), Errno> {
    // SAFETY: plain integer arguments.
    Errno::result(unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, value as libc::c_ulong) }).map(drop)
}

#[repr(C)]
#[derive(Default)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
}

/// sched_setattr(0, attr, 0): the calling thread's scheduling policy and parameters.
pub fn sched_setattr(attr: &mut SchedAttr) -> Result<(), Errno> {
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: attr is a valid struct sched_attr of the size it states.
    Errno::result(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *mut SchedAttr, 0) }).map(drop)
}

/// Marks every descriptor from `first` up close-on-exec, so nothing the runtime inherited leaks
/// into the container.
pub fn cloexec_from(first: u32) {
    // SAFETY: close_range only changes descriptor flags; failure (old kernel) is harmless.
    unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
}

/// Closes every descriptor from `first` up but `keep`: a container held at `created` must not
/// keep its caller's control socket (or anything else of the runtime's) open until it execs.
pub fn close_from_except(first: u32, keep: u32) {
    if keep > first {
        // SAFETY: closes descriptors we own and no longer use; failure (old kernel) is harmless.
        unsafe { libc::syscall(libc::SYS_close_range, first, keep - 1, 0) };
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, keep.max(first - 1) + 1, u32::MAX, 0) };
}

/// Closes every descriptor from `first` up but those in `keep` (any order).
pub fn close_from_keeping(first: u32, keep: &[u32]) {
    let mut keep: Vec<u32> = keep.iter().copied().filter(|k| *k >= first).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from = first;
    for k in keep {
        if k > from {
            // SAFETY: closes descriptors we own and no longer use; failure (old kernel) is harmless.
            unsafe { libc::syscall(libc::SYS_close_range, from, k - 1, 0) };
        }
        from = k + 1;
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0) };
}

/// `--preserve-fds N`: descriptors 3..3+N pass to the container's command (their close-on-exec
/// flag is cleared); every later one is marked close-on-exec.
pub fn pass_fds(preserve: u32) {
    for fd in 3..3 + preserve as i32 {
        // SAFETY: F_SETFD on a descriptor number; a closed one fails with EBADF, which is harmless.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    cloexec_from(3 + preserve);
}

const FSOPEN_CLOEXEC: u32 = 1;
const FSMOUNT_CLOEXEC: u32 = 1;
const FSCONFIG_SET_FLAG: u32 = 0;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;

/// A filesystem context (the new mount API): configure with [`fsconfig_string`], then [`fsmount`].
pub fn fsopen(fstype: &str) -> Result<OwnedFd, Errno> {
    let t = cstr(fstype)?;
    // SAFETY: t outlives the call; the kernel validates the flags.
    fd_result(unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) })
}

pub fn fsconfig_string(fs: &OwnedFd, key: &str, value: &str) -> Result<(), Errno> {
    let (k, v) = (cstr(key)?, cstr(value)?);
    // SAFETY: fs is a context descriptor we own; k and v outlive the call.
    let ret = unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), FSCONFIG_SET_STRING, k.as_ptr(), v.as_ptr(), 0) };
    Errno::result(ret).map(drop)
}

/// A flag option without a value (overlayfs's `userxattr`).
pub fn fsconfig_flag(fs: &OwnedFd, key: &str) -> Result<(), Errno> {
    let k = cstr(key)?;
    // SAFETY: fs is a context descriptor we own; k outlives the call; a flag takes no value.
    let ret = unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), FSCONFIG_SET_FLAG, k.as_ptr(), std::ptr::null::<libc::c_void>(), 0) };
    Errno::result(ret).map(drop)
}

/// Creates the superblock and returns a detached mount of it (attach with move_mount).
pub fn fsmount(fs: &OwnedFd) -> Result<OwnedFd, Errno> {
    // SAFETY: fs is a context descriptor we own; null key/value is what FSCONFIG_CMD_CREATE takes.
    let ret = unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), FSCONFIG_CMD_CREATE, std::ptr::null::<libc::c_char>(), std::ptr::null::<libc::c_void>(), 0) };
    Errno::result(ret)?;
    // SAFETY: as above; no attributes.
    fd_result(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })
}
