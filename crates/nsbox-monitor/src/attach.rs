//! `nsbox-runtime attach ID`: connects the caller's terminal to a detached container through its
//! monitor's `attach.sock` (frames as in frames.rs): output to our stdout/stderr, our stdin and
//! window size to the container's pty, and our exit status is the container's when it ends.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use nsbox_container::error::{errno_of, rule_wire, sys_wire};
use nsbox_container::process::pty;
use nsbox_container::state::Root;

use crate::error::Result;
use crate::frames::{frame, take_frame, EXIT, RESIZE, STDERR, STDIN, STDOUT};

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("attach(): ERR_NOT_RUNNING: container {name} is not running ({status})")]
    NotRunning { name: String, status: String },
    /// The monitor went away without an exit frame.
    #[error("attach({path}): ERR_RUNTIME: the container's monitor closed the connection")]
    MonitorClosed { path: String },
}

impl AttachError {
    pub fn to_wire(&self) -> WireError {
        match self {
            AttachError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            AttachError::NotRunning { name, status } => {
                rule_wire("ERR_NOT_RUNNING", "attach", "", &format!("container {name} is not running ({status})"))
            }
            AttachError::MonitorClosed { path } => rule_wire("ERR_RUNTIME", "attach", path, "the container's monitor closed the connection"),
        }
    }
}

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> AttachError {
    let path = path.to_string();
    move |errno| AttachError::Sys { op, path, errno }
}

pub fn attach(root: Option<&std::path::Path>, reference: &str, stdin: bool) -> Result<i32> {
    let root = Root::resolve(root);
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    if st.live_status() != "running" {
        return Err(AttachError::NotRunning { name: st.name.clone(), status: st.live_status().to_string() }.into());
    }
    let path = root.dir_of(&id).join("attach.sock");
    let mut sock = UnixStream::connect(&path).map_err(|e| sys("connect", path.display())(errno_of(&e)))?;
    let mut winch = SigSet::empty();
    winch.add(Signal::SIGWINCH);
    winch.thread_block().map_err(sys("sigprocmask", ""))?;
    let sfd = SignalFd::with_flags(&winch, SfdFlags::SFD_CLOEXEC).map_err(sys("signalfd", ""))?;
    let _raw = if st.tty && stdin { pty::RawMode::enter() } else { None };
    send_size(&mut sock);
    // A tty, or a pipe kept open by the monitor (`-d -i`), takes our input.
    let mut input_open = stdin && (st.tty || st.stdin_open);
    let mut buf: Vec<u8> = Vec::new();
    let sin = std::io::stdin();
    loop {
        let mut fds = vec![PollFd::new(sock.as_fd(), PollFlags::POLLIN), PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if input_open {
            fds.push(PollFd::new(sin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            r => r.map_err(sys("poll", ""))?,
        };
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        if ready[1] {
            let _ = sfd.read_signal();
            send_size(&mut sock);
        }
        if input_open && ready[2] {
            let mut chunk = [0u8; 4096];
            match nix::unistd::read(sin.as_fd(), &mut chunk) {
                Ok(0) | Err(_) => input_open = false,
                Ok(n) => {
                    let _ = sock.write_all(&frame(STDIN, &chunk[..n]));
                }
            }
        }
        if ready[0] {
            let mut chunk = [0u8; 32768];
            let n = sock.read(&mut chunk).map_err(|e| sys("read", path.display())(errno_of(&e)))?;
            if n == 0 {
                return Err(AttachError::MonitorClosed { path: path.display().to_string() }.into());
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some((kind, payload)) = take_frame(&mut buf) {
                match kind {
                    STDOUT => write_out(std::io::stdout().lock(), &payload),
                    STDERR => write_out(std::io::stderr().lock(), &payload),
                    EXIT => return Ok(String::from_utf8_lossy(&payload).trim().parse().unwrap_or(255)),
                    _ => {}
                }
            }
        }
    }
}

pub fn write_out(mut w: impl Write, data: &[u8]) {
    let _ = w.write_all(data);
    let _ = w.flush();
}

fn send_size(sock: &mut UnixStream) {
    if let Some((rows, cols)) = pty::caller_size() {
        let mut p = rows.to_be_bytes().to_vec();
        p.extend_from_slice(&cols.to_be_bytes());
        let _ = sock.write_all(&frame(RESIZE, &p));
    }
}
