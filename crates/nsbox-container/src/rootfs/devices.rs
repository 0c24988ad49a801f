//! The device nodes every container gets in its fresh /dev, and the config's `linux.devices`. In a
//! user namespace mknod is not allowed, so the host's nodes are bind-mounted instead, as rootless
//! runtimes do. Whether a node may then be opened is the devices cgroup's decision, not ours.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};

use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::sys_wire;
use crate::spec::DeviceNode;
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
            Err(Errno::EPERM) => bind_host_node(&dev, name, &format!("/dev/{name}"))?,
            Err(e) => return Err(sys("mknod", format!("/dev/{name}"))(e)),
        }
    }
    for (name, to) in LINKS {
        symlinkat(to, &dev, name).map_err(sys("symlink", format!("/dev/{name}")))?;
    }
    Ok(())
}

/// Makes one `linux.devices` node as `name` in `dir` (its parent, already resolved inside the
/// root): mknod with the type, numbers and mode asked for (umask is 0 here), then chown. Where mknod
/// is not allowed (a user namespace) the host's node with those numbers is bound instead, keeping
/// the host's mode and owner: chmod or chown there would change the host's node. An existing entry
/// is left as it is, as runc does (a config may list /dev/null, which every /dev already has).
pub fn create_node(dir: &OwnedFd, name: &str, node: &DeviceNode) -> Result<()> {
    let path = node.path.as_str();
    let dev = makedev(node.major, node.minor);
    match mknodat(dir, name, node.kind, Mode::from_bits_truncate(node.mode), dev) {
        Ok(()) => {}
        Err(Errno::EEXIST) => return Ok(()),
        Err(Errno::EPERM) if node.kind != SFlag::S_IFIFO => return bind_host_node(dir, name, &host_node(node)?),
        Err(e) => return Err(sys("mknod", path)(e)),
    }
    if node.uid.is_some() || node.gid.is_some() {
        fchownat(dir, name, node.uid.map(Uid::from_raw), node.gid.map(Gid::from_raw), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(sys("chown", path))?;
    }
    Ok(())
}

/// The host's node for `node`: the same path when it is that very device (docker's `--device
/// /dev/loop3`), else udev's /dev/block/MAJ:MIN or /dev/char/MAJ:MIN link to it.
fn host_node(node: &DeviceNode) -> Result<String> {
    let is_it = |p: &str| {
        nix::sys::stat::stat(p)
            .is_ok_and(|st| st.st_mode & SFlag::S_IFMT.bits() == node.kind.bits() && st.st_rdev == makedev(node.major, node.minor))
    };
    if is_it(&node.path) {
        return Ok(node.path.clone());
    }
    let dir = if node.kind == SFlag::S_IFBLK { "block" } else { "char" };
    let by_number = format!("/dev/{dir}/{}:{}", node.major, node.minor);
    if is_it(&by_number) {
        return Ok(by_number);
    }
    // mknod's own refusal is the error that explains why a host node was needed.
    Err(sys("mknod", &node.path)(Errno::EPERM))
}

/// Binds the host's node `source` onto a new empty file `name` in `dir`.
fn bind_host_node(dir: &OwnedFd, name: &str, source: &str) -> Result<()> {
    let file = openat(dir, name, OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::from_bits_truncate(0o666))
        .map_err(sys("create", name))?;
    let at = format!("/proc/self/fd/{}", file.as_raw_fd());
    mount(Some(source), at.as_str(), None::<&str>, MsFlags::MS_BIND, None::<&str>).map_err(sys("bind", source))
}
