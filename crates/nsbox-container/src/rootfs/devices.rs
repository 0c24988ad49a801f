//! The device nodes every container gets in its fresh /dev. In a user namespace mknod is not
//! allowed, so the host's nodes are bind-mounted instead, as rootless runtimes do.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::symlinkat;

use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::sys_wire;
use crate::syscalls::open_in_root_nofollow;

/// A node or link of the container's /dev could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl DeviceError {
    pub fn to_wire(&self) -> WireError {
        match self {
            DeviceError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }
}

type Result<T> = std::result::Result<T, DeviceError>;

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> DeviceError {
    let path = path.to_string();
    move |errno| DeviceError::Sys { op, path, errno }
}

const NODES: [(&str, u64, u64); 6] =
    [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

const LINKS: [(&str, &str); 6] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
    ("core", "/proc/kcore"),
];

pub fn populate(root: &OwnedFd) -> Result<()> {
    // Strictly: /dev was just mounted there, without a symlink on the way (mounts.rs).
    let dev = open_in_root_nofollow(root, "dev", (OFlag::O_PATH | OFlag::O_DIRECTORY).bits()).map_err(sys("open", "/dev"))?;
    for (name, major, minor) in NODES {
        let mode = Mode::from_bits_truncate(0o666);
        match mknodat(&dev, name, SFlag::S_IFCHR, mode, makedev(major, minor)) {
            Ok(()) => {}
            Err(Errno::EPERM) => bind_host_node(&dev, name)?,
            Err(e) => return Err(sys("mknod", format!("/dev/{name}"))(e)),
        }
    }
    for (name, to) in LINKS {
        symlinkat(to, &dev, name).map_err(sys("symlink", format!("/dev/{name}")))?;
    }
    Ok(())
}

fn bind_host_node(dev: &OwnedFd, name: &str) -> Result<()> {
    let path = format!("/dev/{name}");
    let file = openat(dev, name, OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::from_bits_truncate(0o666))
        .map_err(sys("create", &path))?;
    let at = format!("/proc/self/fd/{}", file.as_raw_fd());
    mount(Some(path.as_str()), at.as_str(), None::<&str>, MsFlags::MS_BIND, None::<&str>).map_err(sys("bind", &path))
}
