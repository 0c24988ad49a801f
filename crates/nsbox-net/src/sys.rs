//! Small kernel interfaces outside netlink: sysctls (written to /proc/sys directly), process identity
//! (pid + start time, so a recycled pid is never mistaken for a live owner), randomness, and opening
//! network namespace files.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::stat::fstat;

use crate::netlink::NetlinkError;

#[derive(Debug, thiserror::Error)]
pub enum SysError {
    #[error("{op}({path}): {errno:?}: {}", errno.desc())]
    Io { op: &'static str, path: String, errno: Errno },
    #[error("{0}")]
    Netlink(#[from] NetlinkError),
    #[error("nsbox-net worker thread: {reason}")]
    Worker { reason: String },
    #[error("attach({path}): that is the caller's own network namespace")]
    HostNetns { path: String },
}

impl SysError {
    fn io(op: &'static str, path: &str, e: std::io::Error) -> Self {
        SysError::Io { op, path: path.into(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
    }
}

/// Writes one sysctl, e.g. `net/ipv4/ip_forward`, as the file under /proc/sys.
pub fn sysctl_write(key: &str, value: &str) -> Result<(), SysError> {
    let path = format!("/proc/sys/{key}");
    if std::fs::read_to_string(&path).map(|v| v.trim() == value).unwrap_or(false) {
        return Ok(());
    }
    let mut f = File::options().write(true).open(&path).map_err(|e| SysError::io("open sysctl", &path, e))?;
    f.write_all(value.as_bytes()).map_err(|e| SysError::io("write sysctl", &path, e))
}

/// Field 22 of /proc/PID/stat: the start time in clock ticks since boot; None when there is no such pid.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// True while the process that was `pid` at `start` is alive (a zombie counts as dead).
pub fn owner_alive(pid: i32, start: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let Some(close) = stat.rfind(')') else { return false };
    let mut f = stat[close + 1..].split_whitespace();
    let state = f.next().unwrap_or("X");
    let st: Option<u64> = f.nth(18).and_then(|s| s.parse().ok());
    state != "Z" && state != "X" && st == Some(start)
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    let mut got = 0;
    while got < N {
        // SAFETY: the pointer and length describe the unfilled tail of `b`, which we own.
        let r = unsafe { libc::getrandom(b[got..].as_mut_ptr().cast(), N - got, 0) };
        if r > 0 {
            got += r as usize;
        } else if Errno::last() != Errno::EINTR {
            // No entropy syscall: fall back to time and pid, enough for unique names.
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let seed = (t.as_nanos() as u64) ^ ((std::process::id() as u64) << 32);
            for (i, x) in b.iter_mut().enumerate() {
                *x = (seed.rotate_left(i as u32 * 8) & 0xff) as u8;
            }
            break;
        }
    }
    b
}

pub fn random_hex(n: usize) -> String {
    let b: [u8; 16] = random_bytes();
    b.iter().map(|x| format!("{x:02x}")).collect::<String>()[..n.min(32)].to_string()
}

/// Opens a network namespace file (`/proc/PID/ns/net` or a bind-mounted nsfs file) and refuses the
/// caller's own namespace, so a mistake can never rename the host's interfaces.
pub fn open_netns(path: &str) -> Result<OwnedFd, SysError> {
    let f = File::open(path).map_err(|e| SysError::io("open netns", path, e))?;
    let fd: OwnedFd = f.into();
    let own = File::open("/proc/thread-self/ns/net").map_err(|e| SysError::io("open netns", "/proc/thread-self/ns/net", e))?;
    let a = fstat(fd.as_fd()).map_err(|errno| SysError::Io { op: "fstat netns", path: path.into(), errno })?;
    let b = fstat(own.as_fd()).map_err(|errno| SysError::Io { op: "fstat netns", path: path.into(), errno })?;
    if a.st_dev == b.st_dev && a.st_ino == b.st_ino {
        return Err(SysError::HostNetns { path: path.into() });
    }
    Ok(fd)
}
