//! The runtime's foreground loop while the container runs: pass signals on, obey `kill` frames
//! from the caller, relay the pty (`-t`) or the pipes that stand in for the caller's terminal
//! (stdio.rs says why), and collect the exit status.

use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{read, write, Pid};
use nsbox_core::protocol::ToRuntime;

use std::os::fd::OwnedFd;

use crate::control::Control;
use crate::process::pty;
use crate::process::signals::{self, sys, Result};
use crate::process::stdio::{Pipes, Ready};

pub struct Exit {
    pub code: i32,
    pub signal: Option<Signal>,
}

pub struct Relay {
    /// The pty master, with `-t`.
    pub master: Option<OwnedFd>,
    stdin_open: bool,
    master_open: bool,
    /// Our stdout is a terminal whose hangup we pass on to the container's (see `hang_up`).
    watch_caller: bool,
    /// Without `-t`: pipes in place of those of our stdin/stdout/stderr that are terminals.
    pipes: Pipes,
}

impl Relay {
    pub fn new(master: Option<OwnedFd>, pipes: Pipes) -> Relay {
        let open = master.is_some();
        if let Some(m) = &master {
            pty::sync_winsize(m.as_fd());
        }
        let watch_caller = open && nix::unistd::isatty(std::io::stdout()).unwrap_or(false);
        Relay { master, stdin_open: open, master_open: open, watch_caller, pipes }
    }

    /// The caller's terminal hung up (its window closed, its ssh session dropped): hang up the
    /// container's too, by closing the master, as a terminal emulator does when it goes away. The
    /// kernel then sends the container's session SIGHUP and its reads and writes of the terminal fail,
    /// so a shell ends even as PID 1 of a pid namespace, which no SIGHUP without a handler reaches.
    fn hang_up(&mut self) {
        self.master = None;
        self.master_open = false;
        self.stdin_open = false;
        self.watch_caller = false;
    }
}

pub fn run(pid: Pid, sfd: &SignalFd, mut control: Option<&mut Control>, relay: &mut Relay) -> Result<Exit> {
    let mut control_open = control.is_some();
    let stdin = std::io::stdin();
    loop {
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        let control_idx = push_if(&mut fds, control_open, control.as_deref().map(|c| c.fd()));
        let master_idx = push_if(&mut fds, relay.master_open, relay.master.as_ref().map(|m| m.as_fd()));
        let stdin_idx = push_if(&mut fds, relay.stdin_open, Some(stdin.as_fd()));
        let stdout = std::io::stdout();
        let caller_idx = relay.watch_caller.then(|| {
            // No events asked for: poll still reports POLLHUP and POLLERR, which is all we want here.
            fds.push(PollFd::new(stdout.as_fd(), PollFlags::empty()));
            fds.len() - 1
        });
        let first_pipe = fds.len();
        let wants = relay.pipes.wants();
        let kinds: Vec<Ready> = wants.iter().map(|(r, _)| *r).collect();
        fds.extend(wants.into_iter().map(|(_, p)| p));
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            r => r.map_err(sys("poll"))?,
        };
        let ready = |i: Option<usize>| i.and_then(|i| fds[i].revents()).is_some_and(|r| !r.is_empty());
        let (sig_ready, ctl_ready, master_ready, stdin_ready) = (ready(Some(0)), ready(control_idx), ready(master_idx), ready(stdin_idx));
        let caller_gone = ready(caller_idx);
        let pipes_ready: Vec<Ready> = kinds.iter().enumerate().filter(|(j, _)| ready(Some(first_pipe + j))).map(|(_, r)| *r).collect();
        drop(fds);
        for r in pipes_ready {
            relay.pipes.on_ready(r);
        }
        if caller_gone {
            relay.hang_up();
        }
        if let (true, Some(m)) = (master_ready, &relay.master) {
            relay.master_open = copy(m.as_fd(), stdout.as_fd());
        }
        if let (true, Some(m)) = (stdin_ready, &relay.master) {
            relay.stdin_open = copy(stdin.as_fd(), m.as_fd());
        }
        if ctl_ready {
            match control.as_deref_mut().map(|c| c.recv()) {
                Some(Ok(Some(ToRuntime::Kill { signal }))) => {
                    if let Ok(s) = Signal::try_from(signal) {
                        let _ = kill(pid, s);
                    }
                }
                Some(Ok(Some(_))) => {}
                // The caller is gone: a foreground container must not outlive it unsupervised.
                _ => {
                    control_open = false;
                    let _ = kill(pid, Signal::SIGKILL);
                }
            }
        }
        if sig_ready {
            if let Some(exit) = on_signal(pid, sfd, relay)? {
                drain(relay);
                return Ok(exit);
            }
        }
    }
}

fn push_if<'a>(fds: &mut Vec<PollFd<'a>>, cond: bool, fd: Option<BorrowedFd<'a>>) -> Option<usize> {
    let fd = fd.filter(|_| cond)?;
    fds.push(PollFd::new(fd, PollFlags::POLLIN));
    Some(fds.len() - 1)
}

fn on_signal(pid: Pid, sfd: &SignalFd, relay: &Relay) -> Result<Option<Exit>> {
    let Some(info) = sfd.read_signal().map_err(sys("read signalfd"))? else { return Ok(None) };
    let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else { return Ok(None) };
    if sig != Signal::SIGCHLD {
        if sig == Signal::SIGWINCH {
            if let Some(m) = &relay.master {
                pty::sync_winsize(m.as_fd());
            }
        }
        let _ = kill(pid, sig);
        return Ok(None);
    }
    Ok(match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => Some(Exit { code, signal: None }),
        Ok(WaitStatus::Signaled(_, s, _)) => Some(Exit { code: signals::exit_code_for(s), signal: Some(s) }),
        _ => None,
    })
}

/// One read/write; false once the source is finished (EOF, or EIO from a pty whose slave closed).
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 16384];
    match read(from, &mut buf) {
        Ok(0) | Err(Errno::EIO) | Err(Errno::EBADF) => false,
        Ok(n) => write_all(to, &buf[..n]),
        Err(Errno::EINTR) | Err(Errno::EAGAIN) => true,
        Err(_) => false,
    }
}

/// Blocking writes until all of `data` is out (the caller's terminal or pipe drains on its own).
pub(crate) fn write_all(to: BorrowedFd<'_>, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match write(to, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Output the container wrote just before exiting is still in the pty or the pipes; hand it on.
fn drain(relay: &mut Relay) {
    relay.pipes.drain();
    if let Some(master) = &relay.master {
        let _ = nix::fcntl::fcntl(master, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
        while relay.master_open && copy(master.as_fd(), std::io::stdout().as_fd()) {
            let mut probe = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
            if !matches!(poll(&mut probe, PollTimeout::ZERO), Ok(n) if n > 0) {
                break;
            }
        }
    }
}
