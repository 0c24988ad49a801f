//! `--init`: a tiny PID 1 of ours. It starts the command, passes on the signals it receives,
//! reaps every orphan that is reparented to it, and exits with the command's status.

use std::os::fd::AsRawFd;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::sys::signalfd::SignalFd;
use nix::unistd::{fork, ForkResult, Pid};

use crate::create::sync::{SyncMsg, SyncSocket};
use crate::error::Result;
use crate::process::{self, signals, sys};
use crate::seccomp::Filter;
use crate::spec::ProcessPlan;

/// Returns init's exit code: the command's, or 125 (reported through `sync`) if init itself
/// could not start.
/// `filter`: loaded before the fork, so it applies to init and the command alike (init's own
/// calls afterwards — clone, wait4, kill, read of the signalfd, exit_group — are ones docker's
/// default profile allows).
///
/// init stays non-dumpable for its whole life (it never execs), so no process in the container can
/// ptrace it or open its /proc files, unless the runtime lacks CAP_SYS_PTRACE on the host
/// (`can_ptrace` false: rootless). There, a never-exec'd process's memory still belongs to the
/// host's user namespace, so non-dumpable would lock out `exec` (it opens /proc/1/ns/*) and
/// inspect, while container root would gain nothing from a dumpable init: it runs from the sealed
/// copy, with the container's own credentials, a scrubbed environment and no descriptor of ours.
pub fn run(p: &ProcessPlan, mut sync: SyncSocket, filter: Option<&Filter>, can_ptrace: bool) -> i32 {
    match start(p, &mut sync, filter) {
        Ok(child) => {
            if !can_ptrace {
                let _ = nix::sys::prctl::set_dumpable(true);
            }
            // The runtime learns "exec succeeded" when every copy of the sync socket is closed.
            drop(sync);
            supervise(child)
        }
        Err(e) => {
            let _ = sync.send(&SyncMsg::Failed { error: e.to_wire(), exit_code: e.exit_code() });
            e.exit_code()
        }
    }
}

fn start(p: &ProcessPlan, sync: &mut SyncSocket, filter: Option<&Filter>) -> Result<(Pid, SignalFd)> {
    // init never execs, so close-on-exec never closes what the runtime had open (the caller's
    // control socket, namespace and cgroup fds): keep only the sync socket for the rest of our life.
    crate::syscalls::close_from_except(3, sync.0.as_raw_fd() as u32);
    // Without a pid namespace of its own, init still becomes the reaper of its descendants.
    nix::sys::prctl::set_child_subreaper(true).map_err(sys("prctl PR_SET_CHILD_SUBREAPER", ""))?;
    let sfd = signals::block_and_open()?;
    if let Some(f) = filter {
        f.load(sync)?;
    }
    // SAFETY: the runtime is single-threaded, so the child may run arbitrary code after fork.
    match unsafe { fork() }.map_err(sys("fork", "init"))? {
        ForkResult::Child => {
            drop(sfd);
            let e = process::exec(p, || Ok(()));
            let _ = sync.send(&SyncMsg::Failed { error: e.to_wire(), exit_code: e.exit_code() });
            // SAFETY: _exit is always safe; nothing of ours needs flushing in this child.
            unsafe { libc::_exit(e.exit_code()) }
        }
        ForkResult::Parent { child } => Ok((child, sfd)),
    }
}

fn supervise((child, sfd): (Pid, SignalFd)) -> i32 {
    loop {
        let Ok(Some(info)) = sfd.read_signal() else { continue };
        let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else { continue };
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        if let Some(code) = reap(child) {
            return code;
        }
    }
}

/// Reaps every exited child; the command's exit code once it is among them.
fn reap(command: Pid) -> Option<i32> {
    let mut result = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == command => result = Some(code),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == command => result = Some(signals::exit_code_for(sig)),
            Ok(WaitStatus::StillAlive) | Err(_) => return result,
            Ok(_) => {}
        }
    }
}
