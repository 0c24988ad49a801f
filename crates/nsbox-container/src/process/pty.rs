//! `-t`: the container's stdio is a pty slave; the runtime relays between the caller's terminal
//! (switched to raw mode for the duration) and the master, and passes on window-size changes.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, Winsize};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::unistd::setsid;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::sys_wire;

/// The pty could not be opened, or made the caller's controlling terminal.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl PtyError {
    pub fn to_wire(&self) -> WireError {
        match self {
            PtyError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }
}

type Result<T> = std::result::Result<T, PtyError>;

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> PtyError {
    let path = path.to_string();
    move |errno| PtyError::Sys { op, path, errno }
}

nix::ioctl_read_bad!(get_winsize, libc::TIOCGWINSZ, Winsize);
nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, Winsize);

/// Opens a pty from the devpts the process sees now (inside the container: its own), and
/// returns (master, slave).
pub fn open() -> Result<(OwnedFd, OwnedFd)> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).map_err(sys("open", "/dev/ptmx"))?;
    grantpt(&master).map_err(sys("grantpt", "/dev/ptmx"))?;
    unlockpt(&master).map_err(sys("unlockpt", "/dev/ptmx"))?;
    let name = ptsname_r(&master).map_err(sys("ptsname", "/dev/ptmx"))?;
    let slave = nix::fcntl::open(name.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(sys("open", &name))?;
    let master: OwnedFd = master.into();
    pty_winsize(master.as_fd());
    Ok((master, slave))
}

fn pty_winsize(master: BorrowedFd<'_>) {
    sync_winsize(master)
}

/// The size of the caller's terminal, from whichever of stdin, stdout, stderr is one: without `-i`
/// stdin is /dev/null, yet `run -t` still shows the command the caller's size (as docker does).
fn caller_winsize() -> Option<Winsize> {
    [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO].into_iter().find_map(|fd| {
        let mut ws = Winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: ws is a valid Winsize for the kernel to fill; failure (fd not a tty) is handled.
        unsafe { get_winsize(fd, &mut ws) }.ok().filter(|_| ws.ws_row > 0 && ws.ws_col > 0).map(|_| ws)
    })
}

/// The caller's terminal size (rows, cols), when it has a terminal.
pub fn caller_size() -> Option<(u16, u16)> {
    caller_winsize().map(|w| (w.ws_row, w.ws_col))
}

/// Copies the caller's window size onto the pty (at start and on SIGWINCH).
pub fn sync_winsize(master: BorrowedFd<'_>) {
    if let Some(ws) = caller_winsize() {
        // SAFETY: ws is a valid Winsize and master a pty master descriptor.
        let _ = unsafe { set_winsize(master.as_raw_fd(), &ws) };
    }
}

/// Sets the pty's window size (from an attach client's RESIZE).
pub fn set_size(master: BorrowedFd<'_>, rows: u16, cols: u16) {
    let ws = Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: ws is a valid Winsize and master a pty master descriptor.
    let _ = unsafe { set_winsize(master.as_raw_fd(), &ws) };
}

/// In the child: a new session whose controlling terminal is the slave, which becomes stdio.
pub fn attach_slave(slave: OwnedFd) -> Result<()> {
    setsid().map_err(sys("setsid", ""))?;
    // SAFETY: TIOCSCTTY takes an integer argument; slave is an open pty slave.
    let r = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(r).map_err(sys("ioctl TIOCSCTTY", "pty"))?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors; slave stays open until dropped.
        Errno::result(unsafe { libc::dup2(slave.as_raw_fd(), fd) }).map_err(sys("dup2", "pty"))?;
    }
    Ok(())
}

/// The caller's terminal in raw mode until dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}
