//! Which signals the runtime (and our init) pass on to the container, and the blocked mask they
//! are read through (signalfd) instead of handlers.

use nix::errno::Errno;
use nix::sys::signal::{sigprocmask, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::sys_wire;

/// Blocking, reading or waiting for the signals we relay failed (supervise.rs's loop too).
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    #[error("{op}(): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, errno: Errno },
}

impl SignalError {
    pub fn to_wire(&self) -> WireError {
        match self {
            SignalError::Sys { op, errno } => sys_wire(op, "", *errno, errno.desc()),
        }
    }
}

pub type Result<T> = std::result::Result<T, SignalError>;

pub fn sys(op: &'static str) -> impl FnOnce(Errno) -> SignalError {
    move |errno| SignalError::Sys { op, errno }
}

/// Everything a caller may send that the container should see; SIGCHLD is ours, KILL/STOP can't
/// be caught.
pub const FORWARDED: [Signal; 20] = [
    Signal::SIGHUP, Signal::SIGINT, Signal::SIGQUIT, Signal::SIGABRT, Signal::SIGUSR1, Signal::SIGUSR2,
    Signal::SIGALRM, Signal::SIGTERM, Signal::SIGWINCH, Signal::SIGCONT, Signal::SIGTSTP, Signal::SIGTTIN,
    Signal::SIGTTOU, Signal::SIGURG, Signal::SIGXCPU, Signal::SIGXFSZ, Signal::SIGVTALRM, Signal::SIGPROF,
    Signal::SIGIO, Signal::SIGPWR,
];

pub fn mask() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Blocks the forwarded signals and SIGCHLD and returns a signalfd reading them.
pub fn block_and_open() -> Result<SignalFd> {
    let set = mask();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(sys("sigprocmask"))?;
    // SAFETY: setting SIG_IGN installs no handler code; writes to a vanished reader must be
    // errors we handle, not a silent death.
    unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) }.map_err(sys("signal SIGPIPE"))?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC).map_err(sys("signalfd"))
}

/// What the command must start with: nothing blocked, default dispositions.
pub fn restore_defaults() {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: restoring the default disposition installs no handler code.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// docker's convention: 128+N for death by signal N.
pub fn exit_code_for(sig: Signal) -> i32 {
    128 + sig as i32
}
