//! `nsbox-runtime net-helper CONFIG`: runs a rootless network helper for exactly as long as the
//! container's first process lives (see the module above for why a keeper is needed at all).

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use serde_json::json;

use super::spawn::spawn_helper;
use super::{handover, io, premade, sys, KeeperConfig, RootlessError};

type Result<T> = std::result::Result<T, RootlessError>;

pub(crate) fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor we take ownership of.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(sys("pidfd_open", format!("/proc/{pid}"))(Errno::last()));
    }
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Entry point: returns the process exit status. Reports ready/error as one JSON line on stdout.
pub fn run(config_json: &str) -> i32 {
    let mut c: KeeperConfig = match serde_json::from_str(config_json) {
        Ok(c) => c,
        Err(e) => return report_error(&RootlessError::Config { op: "net-helper config", detail: e.to_string() }),
    };
    // Signals that ask us to stop arrive on a signalfd, so the helper is stopped and files removed.
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        mask.add(s);
    }
    if let Err(e) = mask.thread_block() {
        return report_error(&sys("sigprocmask", "")(e));
    }
    let sfd = match SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC) {
        Ok(s) => s,
        Err(e) => return report_error(&sys("signalfd", "")(e)),
    };
    // With a socket the runtime hands the container over as soon as it exists (handover.rs): the
    // helper starts while the container is set up. Without, it is running already, given by pid.
    if c.make_namespaces && c.socket.is_some() {
        return premade::run(c, sfd);
    }
    let (container, ns) = match &c.socket {
        Some(path) => match wait_handover(&c, path, &sfd) {
            Ok(Some(h)) => {
                c.pid = h.pid;
                (h.pidfd, Some((h.user, h.net)))
            }
            Ok(None) => {
                cleanup(&c);
                return report_error(&RootlessError::Helper { op: "wait for the container's namespaces", path: path.clone(), detail: "the caller gave up before the runtime handed them over (it failed, or was stopped)".into() });
            }
            Err(e) => return fail_early(&c, &e, sfd.as_fd(), std::io::stdin().as_fd()),
        },
        None => match pidfd_open(c.pid) {
            Ok(f) => (f, None),
            Err(e) => return report_error(&e),
        },
    };
    let (child, helper_fd, _exit_fd) = match start_with(&c, ns.as_ref().map(|(u, n)| (u.as_fd(), n.as_fd()))) {
        Ok(x) => x,
        Err(e) if c.socket.is_some() => return fail_early(&c, &e, sfd.as_fd(), std::io::stdin().as_fd()),
        Err(e) => {
            cleanup(&c);
            return report_error(&e);
        }
    };
    // The helper holds the namespaces now; ours would only pin them.
    drop(ns);
    serve_container(c, container, sfd, child, helper_fd)
}

/// The helper is up: say so, then wait for the container's end (or the helper's, or a signal).
pub(crate) fn serve_container(c: KeeperConfig, container: OwnedFd, sfd: SignalFd, mut child: Child, helper_fd: OwnedFd) -> i32 {
    let status = c.dir.join("status.json");
    let child_id = child.id();
    write_status(&status, &status_of(&c, child_id, true, None));
    answer(&json!({ "ready": true, "helperPid": child.id(), "keeperPid": std::process::id() }));
    // The caller has its answer: stdout and stderr now go nowhere (the caller may be gone).
    quiet_stdio();

    let helper_alive = wait_for_end(&[container.as_fd(), sfd.as_fd()], &mut child, helper_fd.as_fd(), |how| {
        write_status(&status, &status_of(&c, child_id, false, Some(how)));
    });
    if helper_alive {
        finish(&c, &mut child);
    }
    cleanup(&c);
    0
}

/// Waits until one of `ends` is readable (what the keeper or holder lives for is gone, or a signal
/// came), noting the helper's own exit on the way (`on_helper_exit` gets how it ended). Returns
/// whether the helper is still running.
pub(crate) fn wait_for_end(ends: &[std::os::fd::BorrowedFd<'_>], helper: &mut Child, helper_fd: std::os::fd::BorrowedFd<'_>, mut on_helper_exit: impl FnMut(String)) -> bool {
    let mut helper_alive = true;
    loop {
        let mut fds: Vec<PollFd> = ends.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)).collect();
        if helper_alive {
            fds.push(PollFd::new(helper_fd, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(_) => return helper_alive,
            Ok(_) => {}
        }
        let ready = |i: usize| fds.get(i).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
        if (0..ends.len()).any(ready) {
            return helper_alive;
        }
        if helper_alive && ready(ends.len()) {
            helper_alive = false;
            on_helper_exit(helper.wait().map(describe).unwrap_or_else(|e| format!("wait: {e}")));
        }
    }
}

/// Ends the helper once the container is gone. Its exit takes ~30 ms, almost all of it the kernel
/// unregistering its tap device (an RCU grace period), which nothing after us needs to wait for: without
/// published ports it is SIGKILLed and left to finish on its own (reparented, as a bridge veth's
/// deletion is left to a reaper thread). With published ports we wait, so that when `run` returns or
/// `rm` is done the host's ports are free for the next container.
fn finish(c: &KeeperConfig, child: &mut Child) {
    if c.ports.is_empty() {
        let _ = child.kill();
    } else {
        stop(child);
    }
}

/// Starts the helper and waits until it is ready. Returns the child, its pidfd and (slirp4netns) the
/// exit pipe's write end, whose closing (when we exit) makes slirp4netns exit.
pub(crate) fn start(c: &KeeperConfig) -> Result<(Child, OwnedFd, Option<OwnedFd>)> {
    start_with(c, None)
}

/// The helper's directory, owner-only.
pub(crate) fn make_dir(c: &KeeperConfig) -> Result<()> {
    fs::create_dir_all(&c.dir).map_err(io("mkdir", &c.dir))?;
    fs::set_permissions(&c.dir, fs::Permissions::from_mode(0o700)).map_err(io("chmod 0700", &c.dir))
}

/// Listens on `path` (in the helper's directory) and waits for the runtime's hand-over.
fn wait_handover(c: &KeeperConfig, path: &Path, sfd: &SignalFd) -> Result<Option<handover::Handed>> {
    make_dir(c)?;
    let listener = handover::listen_at(path)?;
    handover::receive(&listener, path, sfd.as_fd(), std::io::stdin().as_fd())
}

/// As [`start`]; `ns`: the container's user and network namespaces, handed over (the helper gets
/// them as fds NS_USER_FD and NS_NET_FD).
fn start_with(c: &KeeperConfig, ns: Option<(BorrowedFd<'_>, BorrowedFd<'_>)>) -> Result<(Child, OwnedFd, Option<OwnedFd>)> {
    spawn_helper(c, ns)?.wait_ready(c)
}

/// SIGTERM, then SIGKILL after a second; always reaped.
pub(crate) fn stop(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
    let end = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn describe(s: std::process::ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (_, Some(sig)) => format!("killed by {}", Signal::try_from(sig).map(|s| s.as_str()).unwrap_or("a signal")),
        _ => "ended".into(),
    }
}

/// What `inspect` and `ps` read: the helper, whether it runs, and what it was asked to do (the
/// published ports and the host loopback, which only the keeper's config holds).
fn status_of(c: &KeeperConfig, helper_pid: u32, running: bool, exit: Option<String>) -> serde_json::Value {
    let mut v = json!({
        "helper": c.kind, "pid": helper_pid, "keeperPid": std::process::id(), "containerPid": c.pid, "running": running,
        "hostLoopback": c.host_loopback, "ports": c.ports,
    });
    if let Some(how) = exit {
        v["exit"] = how.into();
    }
    v
}

/// Status file: replaced atomically (readers never see half of it).
pub(crate) fn write_status(path: &Path, v: &serde_json::Value) {
    let tmp = path.with_extension("tmp");
    if fs::write(&tmp, v.to_string()).is_ok() {
        let _ = fs::rename(&tmp, path);
    }
}

pub(crate) fn cleanup(c: &KeeperConfig) {
    let _ = fs::remove_dir_all(&c.dir);
    for p in &c.cleanup {
        let _ = fs::remove_dir_all(p);
    }
}

pub(crate) fn quiet_stdio() {
    if let Ok(null) = fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in [0, 1, 2] {
            // SAFETY: dup2 onto the standard descriptors, which we own for the rest of our life.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

/// The one line for the caller; it may have stopped listening (it gave up: the runtime failed),
/// which must not end us (println! panics on EPIPE) before we clean up.
pub(crate) fn answer(v: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}").and_then(|_| out.flush());
}

/// A failure while the runtime may still be setting the container up (hand-over mode): the caller
/// reads our answer only at `created`. The files in `cleanup` (the container's /etc files) are bind
/// mounted by the runtime, so removing them now would fail the container's setup with ENOENT and
/// hide our error behind that one. We answer, then wait for the caller to close our stdin (it read
/// the answer, gave up, or died) or for a signal, and only then remove them.
pub(crate) fn fail_early(c: &KeeperConfig, e: &RootlessError, signals: BorrowedFd<'_>, caller: BorrowedFd<'_>) -> i32 {
    let code = report_error(e);
    let mut byte = [0u8; 64];
    loop {
        let mut fds = [PollFd::new(caller, PollFlags::POLLIN), PollFd::new(signals, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(_) => break,
            Ok(_) => {}
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            break;
        }
        // The caller never writes to us: anything readable is its end closing (EOF, or POLLHUP).
        match nix::unistd::read(caller, &mut byte) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    cleanup(c);
    code
}

pub(crate) fn report_error(e: &RootlessError) -> i32 {
    answer(&json!({ "ready": false, "code": e.code(), "message": e.to_string() }));
    125
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A helper that fails while the runtime is still setting the container up must leave the
    /// container's /etc files in place (the runtime bind mounts them next) until the caller, who
    /// reads the error at `created`, closes our stdin. Removing them at once made the runtime fail
    /// with ENOENT on /etc/hosts and hid the helper's own error (seen under load in CI).
    #[test]
    fn an_early_failure_keeps_the_callers_files_until_it_has_read_the_answer() {
        let base = std::env::temp_dir().join(format!("nsbox-keeper-test-{}", std::process::id()));
        let files = base.join("files");
        fs::create_dir_all(&files).unwrap();
        fs::write(files.join("hosts"), "127.0.0.1\tlocalhost\n").unwrap();
        let c: KeeperConfig = serde_json::from_value(json!({
            "kind": "pasta", "helper": "/usr/bin/pasta", "socket": base.join("keeper.sock"), "dir": base.join("helper"), "cleanup": [files],
        }))
        .unwrap();
        let (caller_r, caller_w) = nix::unistd::pipe().unwrap();
        let (sig_r, _sig_w) = nix::unistd::pipe().unwrap();
        let failing = std::thread::spawn(move || {
            let e = RootlessError::Helper { op: "start network helper", path: "/usr/bin/pasta".into(), detail: "pasta exited before it was ready".into() };
            fail_early(&c, &e, sig_r.as_fd(), caller_r.as_fd())
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(files.join("hosts").exists(), "removed while the runtime may still bind it");
        drop(caller_w);
        assert_eq!(failing.join().unwrap(), 125);
        assert!(!files.exists(), "removed once the caller has closed our stdin");
        fs::remove_dir_all(&base).unwrap();
    }
}
