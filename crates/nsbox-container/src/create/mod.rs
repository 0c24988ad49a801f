//! Creating a container: clone its first process into new namespaces, write its id maps, place it
//! in its cgroups, and walk it through the sync handshake up to the exec of its command (or hold it
//! at `created`). child.rs is the child's side, from clone to exec.

use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use nsbox_cgroups::{CgroupError, Cgroups};
use nsbox_core::error::errno_name;
use nsbox_core::namespaces::NsKind;
use nsbox_core::protocol::{FromRuntime, ToRuntime};
use nsbox_core::WireError;

use crate::control::Control;
use crate::error::{sys_wire, Result};
use crate::spec::{Plan, SpecError};
use crate::syscalls;

pub(crate) mod child;
pub(crate) mod idmaps;
mod lo;
pub mod sync;

use sync::{SyncError, SyncMsg, SyncSocket};

/// Reading the bundle's config or cloning the container's first process failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl RunError {
    pub fn to_wire(&self) -> WireError {
        match self {
            RunError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }
}

/// Kills and reaps the child and removes its cgroups if we leave early, so a failed start leaves
/// nothing behind.
pub struct Guard {
    pid: Pid,
    pub cgroups: Option<Cgroups>,
    reaped: bool,
}

impl Guard {
    /// The container was reaped: only its cgroups remain to remove.
    pub fn finish(mut self) -> Vec<CgroupError> {
        self.reaped = true;
        self.cgroups.take().map(|c| c.remove()).unwrap_or_default()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
        if let Some(c) = self.cgroups.take() {
            for e in c.remove() {
                eprintln!("nsbox-runtime: cleanup: {}", e.to_wire());
            }
        }
    }
}

/// A container whose command was exec'd (or, with `sync` still set, one held at `created`:
/// namespaces and rootfs ready, waiting for [`Started::release`]); `guard` kills it and removes its
/// cgroups if dropped before `finish`.
pub struct Started {
    pub pid: Pid,
    pub guard: Guard,
    pub master: Option<OwnedFd>,
    /// The sync socket while the child waits at `created` for Start.
    pub held: Option<SyncSocket>,
}

impl Started {
    /// Lets a held container exec its command; Ok once it did (the sync socket closed on exec).
    pub fn release(&mut self) -> Result<()> {
        let Some(mut sync) = self.held.take() else { return Ok(()) };
        sync.send(&SyncMsg::Start)?;
        match drive(&mut sync, &mut self.master)? {
            Step::Execd => Ok(()),
            Step::Created => Err(SyncError::protocol("sync", "created twice").into()),
        }
    }
}

enum Step {
    Created,
    Execd,
}

/// Reads the child's sync messages until it waits at `created` or has exec'd.
fn drive(sync: &mut SyncSocket, master: &mut Option<OwnedFd>) -> Result<Step> {
    loop {
        match sync.recv()? {
            None => return Ok(Step::Execd),
            Some(SyncMsg::Created) => return Ok(Step::Created),
            Some(SyncMsg::PtyMaster) => *master = Some(sync.recv_fd()?),
            Some(SyncMsg::Failed { error, exit_code }) => return Err(SyncError::Reported(error, exit_code).into()),
            Some(other) => return Err(SyncError::protocol("sync", format!("unexpected {other:?}")).into()),
        }
    }
}

/// Clones the container's first process, writes its maps, places it in its cgroups, and walks it
/// through the sync handshake (with `created`/`start` on `control` when the spec asks for it)
/// up to the exec of its command. The caller must have blocked signals (signals::block_and_open).
pub(crate) fn start(id: &str, plan: &Plan, control: Option<&mut Control>) -> Result<Started> {
    start_or_hold(id, plan, control, false)
}

/// As [`start`]; with `hold` (and a plan with `wait_start`) it returns at `created` with the child
/// still waiting (`held`), after sending `created` on `control`.
pub fn start_or_hold(id: &str, plan: &Plan, mut control: Option<&mut Control>, hold: bool) -> Result<Started> {
    let (mut sync, child_sync) = SyncSocket::pair()?;
    // Time and cgroup namespaces are unshared by the child itself: the first so its offsets can
    // be written before anything enters it, the second after it has joined its own cgroup.
    let flags = plan
        .namespaces
        .iter()
        .filter(|k| !matches!(k, NsKind::Time | NsKind::Cgroup))
        .fold(0u64, |f, k| f | k.clone_flag().bits() as u64);
    // Asked here, in the host's user namespace: after the clone the child holds every capability
    // of its new one, whatever we hold.
    let can_ptrace = caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SYS_PTRACE).unwrap_or(false);
    // SAFETY: nsbox-runtime is single-threaded; the child only runs child::main and then execs.
    let raw = unsafe { syscalls::clone_with_flags(flags) }.map_err(|errno| RunError::Sys { op: "clone3", path: id.to_string(), errno })?;
    if raw == 0 {
        drop(sync);
        child::main(plan, child_sync, can_ptrace);
    }
    drop(child_sync);
    let pid = Pid::from_raw(raw);
    let mut guard = Guard { pid, cgroups: None, reaped: false };
    let mut master = None;
    if plan.has(NsKind::User) {
        idmaps::write_all(raw, &plan.uid_map, &plan.gid_map)?;
    }
    let cgroups = Cgroups::create(id);
    cgroups.join(raw)?;
    guard.cgroups = Some(cgroups);
    sync.send(&SyncMsg::Go)?;
    if let Step::Created = drive(&mut sync, &mut master)? {
        let c = control.as_deref_mut();
        if hold {
            if let Some(c) = c {
                c.send(&FromRuntime::Created { id: id.to_string(), pid: raw });
            }
            return Ok(Started { pid, guard, master, held: Some(sync) });
        }
        let c = c.ok_or_else(|| SpecError::new("annotations", "org.nsbox.wait-start needs --control-fd"))?;
        c.send(&FromRuntime::Created { id: id.to_string(), pid: raw });
        wait_for_start(c, pid)?;
        let mut s = Started { pid, guard, master, held: Some(sync) };
        s.release()?;
        return Ok(s);
    }
    Ok(Started { pid, guard, master, held: None })
}

fn wait_for_start(c: &mut Control, pid: Pid) -> Result<()> {
    loop {
        match c.recv()? {
            Some(ToRuntime::Start) => return Ok(()),
            Some(ToRuntime::Kill { signal }) => {
                if let Ok(s) = Signal::try_from(signal) {
                    let _ = kill(pid, s);
                }
            }
            Some(ToRuntime::Config { .. }) => {}
            None => return Err(SyncError::protocol("start", "the caller went away before start").into()),
        }
    }
}
