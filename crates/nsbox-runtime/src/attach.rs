//! `nsbox-runtime attach ID`: connects the caller's terminal to a detached container through its
//! monitor's `attach.sock` (frames as in monitor.rs): output to our stdout/stderr, our stdin and
//! window size to the container's pty, and our exit status is the container's when it ends.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::{sys, Result, RtError};
use crate::monitor::{frame, take_frame, EXIT, RESIZE, STDERR, STDIN, STDOUT};
use crate::pty;
use crate::state::Root;

pub fn attach(root: Option<&std::path::Path>, reference: &str, stdin: bool) -> Result<i32> {
    let root = Root::resolve(root);
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    if st.live_status() != "running" {
        return Err(RtError::lifecycle("ERR_NOT_RUNNING", "attach", "", format!("container {} is not running ({})", st.name, st.live_status())));
    }
    let path = root.dir_of(&id).join("attach.sock");
    let mut sock = UnixStream::connect(&path).map_err(|e| RtError::io("connect", path.display(), &e))?;
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
            let n = sock.read(&mut chunk).map_err(|e| RtError::io("read", path.display(), &e))?;
            if n == 0 {
                // The monitor went away without an exit frame.
                return Err(RtError::lifecycle("ERR_RUNTIME", "attach", path.display().to_string(), "the container's monitor closed the connection"));
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

fn write_out(mut w: impl Write, data: &[u8]) {
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
