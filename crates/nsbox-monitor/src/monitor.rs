//! The monitor's loop: it owns a detached container. It drains the container's stdout/stderr (or
//! its pty) into the log and to attached clients, serves `attach` on `attach.sock` in the
//! container's directory, reaps the container, records its exit in state.json and cleans up
//! (everything, with `--rm`). Single-threaded and small: no allocation grows with output.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::read;

use nsbox_container::process::{pty, signals};
use nsbox_container::state::{now_rfc3339, Root};

use crate::detach::Booted;
use crate::diewith::{kill_container, Parent};
use crate::frames::{frame, CLOSE_STDIN, EXIT, RESIZE, START, STDERR, STDIN, STDOUT};
use crate::netrelease;
use crate::stdin::StdinPipe;

struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    /// Asked to start the (created) container and waits for the answer.
    start: bool,
}

pub fn serve(root: Root, mut b: Booted, mut parent: Option<Parent>) -> i32 {
    let pid = b.started.pid;
    let sock_path = root.dir_of(&b.state.id).join("attach.sock");
    let listener = b.listener.take();
    if let Some(l) = &listener {
        let _ = l.set_nonblocking(true);
    }
    if listener.is_none() {
        b.state.errors.push(format!("bind({}): attach is unavailable", sock_path.display()));
    }
    let mut clients: Vec<Client> = Vec::new();
    let mut input = StdinPipe::new(b.stdin.take());
    let mut open = [b.stdout.is_some(), b.stderr.is_some(), b.started.master.is_some()];
    let mut exit = None;
    // The memory cgroup's OOM kills as they happen (nsbox-cgroups' oom.rs): an `oom` event each
    // time, even when the container lives on (a child killed while PID 1 survives).
    let mut oom = b.started.guard.cgroups.as_ref().and_then(|c| match nsbox_cgroups::OomWatch::new(&c.dirs, &c.kinds) {
        Ok(w) => w,
        Err(e) => {
            b.state.errors.push(format!("watch for OOM kills: {e}"));
            None
        }
    });
    // A kill before the watch began.
    oom_events(&root, &b, oom.as_mut().map(|w| w.check()));
    // `--die-with` a process that had already ended.
    if matches!(parent, Some(Parent::Gone)) {
        parent = None;
        kill_container(&root, &b.state.id, pid);
    }
    while exit.is_none() {
        let srcs: [Option<&OwnedFd>; 3] = [b.stdout.as_ref(), b.stderr.as_ref(), b.started.master.as_ref()];
        let mut fds = vec![PollFd::new(b.signals.as_fd(), PollFlags::POLLIN)];
        let mut which = Vec::new();
        for (i, s) in srcs.iter().enumerate() {
            if let (Some(fd), true) = (s, open[i]) {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                which.push(i);
            }
        }
        if let Some(l) = &listener {
            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
        }
        let stdin_polled = input.waiting().is_some();
        if let Some(fd) = input.waiting() {
            fds.push(PollFd::new(fd, PollFlags::POLLOUT));
        }
        // While the container's stdin cannot take more, its writers wait (their sockets fill up).
        let listen_clients = !input.full();
        for c in clients.iter().filter(|_| listen_clients) {
            fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
        }
        let oom_at = oom.as_ref().map(|w| {
            fds.push(PollFd::new(w.fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let parent_at = parent.as_ref().and_then(|p| p.fd()).map(|fd| {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
            fds.len() - 1
        });
        let timeout = match oom.as_ref().and_then(|w| w.retry_in()) {
            Some(d) => PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => break,
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        if let Some(w) = oom.as_mut() {
            // Read only when notified (and while a notification waits for its kill), not on
            // every wakeup for output.
            if oom_at.is_some_and(|i| ready[i]) {
                oom_events(&root, &b, Some(w.ready()));
            } else if w.retry_in().is_some() {
                oom_events(&root, &b, Some(w.check()));
            }
        }
        for (k, &i) in which.iter().enumerate() {
            if ready[1 + k] {
                open[i] = pump(&mut b, i, &mut clients) != Pumped::Closed;
            }
        }
        let base = 1 + which.len();
        if let Some(l) = listener.as_ref().filter(|_| ready[base]) {
            if let Ok((s, _)) = l.accept() {
                let _ = s.set_nonblocking(true);
                clients.push(Client { stream: s, inbuf: Vec::new(), start: false });
            }
        }
        let mut cbase = base + usize::from(listener.is_some());
        if stdin_polled {
            if ready[cbase] {
                input.flush();
            }
            cbase += 1;
        }
        let mut gone = Vec::new();
        for (k, c) in clients.iter_mut().enumerate().filter(|_| listen_clients) {
            // A client accepted just now was not polled yet.
            if ready.get(cbase + k) == Some(&true) && !client_input(c, b.started.master.as_ref().map(|m| m.as_fd()), &mut input) {
                gone.push(k);
            }
        }
        for k in gone.into_iter().rev() {
            clients.remove(k);
        }
        for c in clients.iter_mut().filter(|c| c.start) {
            c.start = false;
            let answer = crate::created::start_held(&root, &mut b);
            let _ = c.stream.set_nonblocking(false);
            let _ = c.stream.write_all(&frame(START, answer.to_string().as_bytes()));
            let _ = c.stream.set_nonblocking(true);
        }
        if parent_at.is_some_and(|i| ready[i]) {
            // The exit itself arrives as for any other: SIGCHLD, reaped below or on a later turn.
            parent = None;
            kill_container(&root, &b.state.id, pid);
        }
        if ready[0] {
            exit = on_signal(&b.signals, pid);
        }
    }
    // Output written just before the exit is still in the pipes.
    for i in 0..3 {
        while open[i] && pump(&mut b, i, &mut clients) == Pumped::Data {}
    }
    let (code, signal) = exit.unwrap_or((255, None));
    let exit_frame = frame(EXIT, code.to_string().as_bytes());
    for c in &mut clients {
        let _ = c.stream.set_nonblocking(false);
        let _ = c.stream.write_all(&exit_frame);
    }
    drop(listener);
    let _ = std::fs::remove_file(&sock_path);
    let reported = oom.as_ref().map_or(0, |w| w.seen());
    drop(oom);
    finish(root, b, code, signal, reported)
}

/// One `oom` event for new kills (docker's one per notification).
fn oom_events(root: &Root, b: &Booted, new: Option<u64>) {
    if new.is_some_and(|n| n > 0) {
        root.event("oom", &b.state);
    }
}

fn finish(root: Root, mut b: Booted, code: i32, signal: Option<Signal>, reported: u64) -> i32 {
    // Read before the cgroups go: docker's OOMKilled, and an `oom` event ahead of the exit for a
    // kill the watch has not reported yet (the last one, counted as the container ended).
    if let Some(c) = &b.started.guard.cgroups {
        let kills = nsbox_cgroups::oom_kills(&c.dirs, &c.kinds);
        if kills > 0 {
            b.state.oom_killed = true;
        }
        if kills > reported {
            root.event("oom", &b.state);
        }
    }
    for e in b.started.guard.finish() {
        b.state.errors.push(e.to_string());
    }
    // The network goes when the container's first process ends (docker's rule), before the exit is
    // recorded: whoever sees `exited` sees the endpoints released too. From here on the monitor
    // never forks: nsbox-net may leave helper threads, joined by settle() below.
    let released = netrelease::release(&root.dir_of(&b.state.id));
    let net_errors: Vec<String> = released.errors.iter().map(|e| format!("release network: {e}")).collect();
    b.state.released_endpoints = released.endpoints;
    b.state.errors.extend(net_errors.iter().cloned());
    let st = &mut b.state;
    st.status = "exited".into();
    st.exit_code = Some(code);
    st.exit_signal = signal.map(|s| s.as_str().to_string());
    st.finished_at = Some(now_rfc3339());
    b.log.close();
    for e in &net_errors {
        b.log.notice(e);
    }
    st.log_dropped = b.log.dropped;
    st.log_error = b.log.error.as_ref().map(ToString::to_string);
    if let Err(e) = root.write(st) {
        // A full disk: the rotated log goes first, then try again.
        let _ = std::fs::remove_file(b.log.path.with_extension("log.1"));
        if root.write(st).is_err() {
            st.errors.push(e.to_string());
        }
    }
    root.event("exit", st);
    // The veth deletions the kernel was still finishing (none is expected to fail).
    let settled: Vec<String> = netrelease::settle().iter().map(|e| format!("release network: {e}")).collect();
    if !settled.is_empty() && !st.auto_remove {
        for e in &settled {
            b.log.notice(e);
        }
        st.errors.extend(settled);
        let _ = root.write(st);
    }
    if st.auto_remove {
        // The config's poststop hooks, once the container is gone (runtime-spec), as `delete` runs them.
        let plan = nsbox_container::ops::saved_plan(&root, &st.id, st).map(|(p, _)| p);
        let poststop = plan.as_ref().map(|p| (p.hooks.poststop().clone().unwrap_or_default(), p.hook_state(&st.id, "stopped", 0)));
        let _ = root.remove(&st.id, &st.name);
        // An image's container: its writable layer goes with it.
        if let Some(e) = plan.as_ref().and_then(|p| p.overlay.as_ref()).and_then(|o| nsbox_container::remove_container_layer(o, &st.id)) {
            b.log.notice(&e);
        }
        root.event("remove", st);
        if let Some((hooks, state)) = poststop {
            for e in nsbox_container::create::hooks::run_all("poststop", &hooks, &state) {
                b.log.notice(&e.to_string());
            }
        }
    }
    0
}

#[derive(PartialEq)]
enum Pumped {
    Data,
    Empty,
    Closed,
}

/// Reads what one source has. Never blocks: the sources are nonblocking, and the log writer
/// drops rather than waits.
fn pump(b: &mut Booted, i: usize, clients: &mut Vec<Client>) -> Pumped {
    let fd = match i {
        0 => b.stdout.as_ref(),
        1 => b.stderr.as_ref(),
        _ => b.started.master.as_ref(),
    };
    let Some(fd) = fd else { return Pumped::Closed };
    let mut buf = [0u8; 32768];
    match read(fd, &mut buf) {
        Ok(0) | Err(Errno::EIO) | Err(Errno::EBADF) => Pumped::Closed,
        Ok(n) => {
            let (stream, kind) = if i == 1 { ("stderr", STDERR) } else { ("stdout", STDOUT) };
            b.log.write(stream, &buf[..n]);
            let f = frame(kind, &buf[..n]);
            // A client that cannot take the output now loses it (and is dropped): it never stalls us.
            clients.retain_mut(|c| matches!(c.stream.write(&f), Ok(n) if n == f.len()));
            Pumped::Data
        }
        Err(Errno::EINTR) | Err(Errno::EAGAIN) => Pumped::Empty,
        Err(_) => Pumped::Closed,
    }
}

/// Handles input from an attached client; false when it has gone.
fn client_input(c: &mut Client, master: Option<BorrowedFd<'_>>, input: &mut StdinPipe) -> bool {
    let mut buf = [0u8; 8192];
    match c.stream.read(&mut buf) {
        Ok(0) => return false,
        Ok(n) => c.inbuf.extend_from_slice(&buf[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::Interrupted => return true,
        Err(_) => return false,
    }
    while c.inbuf.len() >= 8 {
        let kind = c.inbuf[0];
        let len = u32::from_be_bytes([c.inbuf[4], c.inbuf[5], c.inbuf[6], c.inbuf[7]]) as usize;
        if len > 1 << 20 {
            return false;
        }
        if c.inbuf.len() < 8 + len {
            break;
        }
        let payload: Vec<u8> = c.inbuf.drain(..8 + len).skip(8).collect();
        match kind {
            START => c.start = true,
            STDIN if master.is_none() => input.feed(&payload),
            CLOSE_STDIN => input.close(),
            _ => {}
        }
        let Some(m) = master else { continue };
        match kind {
            // Input the pty cannot take right now is dropped, as a terminal would under flow control.
            STDIN => {
                let _ = nix::unistd::write(m, &payload);
            }
            RESIZE if payload.len() == 4 => {
                pty::set_size(m, u16::from_be_bytes([payload[0], payload[1]]), u16::from_be_bytes([payload[2], payload[3]]))
            }
            _ => {}
        }
    }
    true
}

/// Reaps every child that has ended: the container, and (we are a subreaper) any of its
/// descendants orphaned outside a pid namespace. Returns the container's status once it ended.
fn on_signal(sfd: &nix::sys::signalfd::SignalFd, pid: nix::unistd::Pid) -> Option<(i32, Option<Signal>)> {
    let _ = sfd.read_signal();
    let mut result = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == pid => result = Some((code, None)),
            Ok(WaitStatus::Signaled(p, s, _)) if p == pid => result = Some((signals::exit_code_for(s), Some(s))),
            Ok(WaitStatus::StillAlive) => return result,
            Err(Errno::ECHILD) => return result.or(Some((255, None))),
            Err(_) => return result,
            Ok(_) => {}
        }
    }
}

/// Gives back the memory that starting the container needed and the loop does not: freed heap
/// (malloc_trim) and the resident pages of every read-only file mapping no page of which was
/// modified (code and constants of this binary and its libraries). Those are identical to the file,
/// so MADV_DONTNEED only unmaps them; the few the loop uses fault back in from the page cache.
pub fn trim_memory() {
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    let mut current: Option<(usize, usize, bool)> = None;
    let mut ranges = Vec::new();
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) else { continue };
            current = Some((a, b, path.starts_with('/') && !perms.contains('w')));
        } else if first == "Anonymous:" {
            if let Some((a, b, true)) = current {
                if f.next() == Some("0") {
                    ranges.push((a, b));
                }
            }
        }
    }
    for (a, b) in ranges {
        // SAFETY: the range is a whole read-only, unmodified file mapping of ours: dropping its pages
        // changes no content, the kernel faults them back in from the file when touched.
        unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
    }
}
