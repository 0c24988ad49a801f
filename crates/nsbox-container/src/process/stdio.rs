//! Without `-t`, the caller's terminal is never handed to the container: each of the runtime's
//! fds 0/1/2 that is a terminal is replaced, for the container, by a pipe that the runtime relays
//! (supervise.rs's loop), as docker does.
//!
//! Why: a process holding an fd of a terminal that is its controlling terminal can push keystrokes
//! into it with TIOCSTI, which the caller's shell then runs as host root once the container's
//! command has ended; a process that can ptrace (or open `/proc/PID/fd/N` of) such a holder can do
//! the same through it, and any holder can read what the caller types. With pipes, no process in
//! the container holds the caller's terminal, and (setsid in create/child.rs and ops/exec.rs) none
//! has a controlling terminal but its own pty.
//!
//! Cost: one copy through the runtime, only for the streams that are a terminal; files, pipes and
//! /dev/null are still passed straight through.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags};
use nix::unistd::{isatty, pipe2, read, setsid, write};
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::sys_wire;

/// A pipe standing in for the caller's terminal could not be made or put in place.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl StdioError {
    pub fn to_wire(&self) -> WireError {
        match self {
            StdioError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }
}

type Result<T> = std::result::Result<T, StdioError>;

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> StdioError {
    let path = path.to_string();
    move |errno| StdioError::Sys { op, path, errno }
}

const NAMES: [&str; 3] = ["stdin", "stdout", "stderr"];

/// The container's side: what goes onto its fds 0/1/2 in place of the caller's terminal (None:
/// the caller's fd is no terminal and is passed on as it is).
#[derive(Default)]
pub struct ChildEnds(pub [Option<OwnedFd>; 3]);

/// For the container's process, after clone/fork and before exec: a session of its own, without a
/// controlling terminal (with `-t`, pty::attach_slave does this and makes the pty its terminal),
/// and the pipes onto 0/1/2.
pub fn install(ends: ChildEnds, terminal: bool) -> Result<()> {
    if !terminal {
        setsid().map_err(sys("setsid", ""))?;
    }
    for (fd, end) in ends.0.iter().enumerate() {
        if let Some(end) = end {
            // SAFETY: dup2 onto a standard descriptor; `end` stays open until dropped.
            Errno::result(unsafe { libc::dup2(end.as_raw_fd(), fd as i32) }).map_err(sys("dup2", NAMES[fd]))?;
        }
    }
    Ok(())
}

/// The runtime's side of the pipes: it copies the caller's terminal input into `stdin` and the
/// container's output from `out` to the caller's stdout/stderr.
#[derive(Default)]
pub struct Pipes {
    /// Write end of the container's stdin (nonblocking); None once closed or when not relayed.
    stdin: Option<OwnedFd>,
    /// Caller input the container's full pipe has not taken yet; the caller is not read meanwhile.
    pending: Vec<u8>,
    /// The caller's stdin ended: close the container's once `pending` is in.
    stdin_eof: bool,
    /// Read ends (nonblocking) of the container's stdout and stderr.
    out: [Option<OwnedFd>; 2],
}

/// Pipes for those of our fds 0/1/2 that are terminals; none with `-t` (the pty stands in for all).
pub fn for_terminals(terminal: bool) -> Result<(ChildEnds, Pipes)> {
    let (mut child, mut ours) = (ChildEnds::default(), Pipes::default());
    if terminal {
        return Ok((child, ours));
    }
    for fd in 0..3 {
        // SAFETY: 0/1/2 stay open for the runtime's whole life; isatty only inspects them.
        if !isatty(unsafe { BorrowedFd::borrow_raw(fd) }).unwrap_or(false) {
            continue;
        }
        let (r, w) = pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe2", NAMES[fd as usize]))?;
        let (theirs, mine) = if fd == 0 { (r, w) } else { (w, r) };
        fcntl(&mine, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(sys("fcntl O_NONBLOCK", NAMES[fd as usize]))?;
        child.0[fd as usize] = Some(theirs);
        match fd {
            0 => ours.stdin = Some(mine),
            _ => ours.out[fd as usize - 1] = Some(mine),
        }
    }
    Ok((child, ours))
}

/// What supervise.rs polled for the pipes, and found ready.
#[derive(Clone, Copy)]
pub enum Ready {
    /// Caller input to read (our fd 0).
    CallerInput,
    /// Room in the container's stdin for `pending`.
    StdinRoom,
    /// Output of the container's stdout (0) or stderr (1).
    Output(usize),
}

impl Pipes {
    /// The fds to poll: the caller's stdin only while the container's pipe has taken all before.
    pub fn wants(&self) -> Vec<(Ready, PollFd<'_>)> {
        let mut w = Vec::new();
        if let Some(s) = &self.stdin {
            w.push(if self.pending.is_empty() {
                // SAFETY: fd 0 stays open for the runtime's whole life.
                (Ready::CallerInput, PollFd::new(unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) }, PollFlags::POLLIN))
            } else {
                (Ready::StdinRoom, PollFd::new(s.as_fd(), PollFlags::POLLOUT))
            });
        }
        for (i, o) in self.out.iter().enumerate() {
            if let Some(o) = o {
                w.push((Ready::Output(i), PollFd::new(o.as_fd(), PollFlags::POLLIN)));
            }
        }
        w
    }

    pub fn on_ready(&mut self, r: Ready) {
        match r {
            Ready::CallerInput => self.on_caller_input(),
            Ready::StdinRoom => self.flush_stdin(),
            Ready::Output(i) => drop(self.on_output(i)),
        }
    }

    /// Caller input is ready: read it and pass it on (what does not fit waits in `pending`).
    fn on_caller_input(&mut self) {
        let mut buf = [0u8; 16384];
        match read(std::io::stdin().as_fd(), &mut buf) {
            Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
            // EOF (^D), or EIO from a terminal that hung up or of which we are in the background.
            Ok(0) | Err(_) => self.stdin_eof = true,
            Ok(n) => self.pending.extend_from_slice(&buf[..n]),
        }
        self.flush_stdin();
    }

    /// Writes what is pending without blocking; closes the container's stdin after the caller's EOF,
    /// or when the container closed its end (EPIPE: what it did not read is lost, as with any pipe).
    fn flush_stdin(&mut self) {
        let Some(s) = &self.stdin else { return };
        while !self.pending.is_empty() {
            match write(s, &self.pending) {
                Ok(n) => drop(self.pending.drain(..n)),
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    self.pending.clear();
                    self.stdin_eof = true;
                }
            }
        }
        if self.stdin_eof {
            self.stdin = None;
        }
    }

    /// Output is ready on stream `i`: one read, passed on to our stdout (0) or stderr (1). Stops
    /// relaying the stream at its EOF or when the caller's terminal no longer takes output.
    fn on_output(&mut self, i: usize) -> bool {
        let Some(src) = &self.out[i] else { return false };
        let mut buf = [0u8; 16384];
        let keep = match read(src, &mut buf) {
            Err(Errno::EINTR) | Err(Errno::EAGAIN) => return false,
            Ok(0) | Err(_) => false,
            Ok(n) => {
                // SAFETY: fd 1 and fd 2 are the runtime's standard descriptors, open for its whole life.
                let to = unsafe { BorrowedFd::borrow_raw(if i == 0 { libc::STDOUT_FILENO } else { libc::STDERR_FILENO }) };
                super::supervise::write_all(to, &buf[..n])
            }
        };
        if !keep {
            self.out[i] = None;
        }
        keep
    }

    /// After the container's first process ended: pass on what its output pipes hold, without
    /// waiting for more (a process left in the background may keep them open, and write on).
    pub fn drain(&mut self) {
        self.stdin = None;
        for i in 0..2 {
            let mut budget = 1usize << 22;
            while budget > 0 && self.on_output(i) {
                budget = budget.saturating_sub(16384);
            }
            self.out[i] = None;
        }
    }
}


