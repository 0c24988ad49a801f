//! `nsbox-runtime run`: create the container, start it, supervise it in the foreground, clean up.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use nsbox_core::namespaces::NsKind;
use nsbox_core::protocol::{FromRuntime, ToRuntime};
use oci_spec::runtime::Spec;

use crate::cgroup::Cgroups;
use crate::control::Control;
use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::cgroup::CgroupError;
use crate::error::{errno_of, sys_wire, Result, RtError};
use crate::plan::{Plan, SpecError};
use crate::supervise::{self, Relay};
use crate::sync::{SyncError, SyncMsg, SyncSocket};
use crate::{child, idmaps, pty, signals, syscalls};

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

pub struct RunArgs {
    pub id: String,
    pub bundle: Option<PathBuf>,
    pub config_fd: Option<i32>,
    pub control_fd: Option<i32>,
}

pub fn run(args: RunArgs) -> i32 {
    let mut control = match args.control_fd.map(Control::from_fd).transpose() {
        Ok(c) => c,
        Err(e) => return report(None, &e.into()),
    };
    match run_container(&args, control.as_mut()) {
        Ok(code) => code,
        Err(e) => report(control.as_mut(), &e),
    }
}

pub fn report(control: Option<&mut Control>, e: &RtError) -> i32 {
    match control {
        Some(c) => c.error(&e.to_wire(), e.exit_code()),
        None => eprintln!("nsbox-runtime: {}", e.to_wire()),
    }
    e.exit_code()
}

pub fn load_spec(args: &RunArgs, control: Option<&mut Control>) -> Result<(Spec, PathBuf)> {
    let protocol = |msg: &str| SyncError::protocol("config", msg);
    if let Some(fd) = args.config_fd {
        let c = control.filter(|_| Some(fd) == args.control_fd).ok_or_else(|| protocol("--config-fd must equal --control-fd"))?;
        let Some(ToRuntime::Config { spec }) = c.recv()? else { return Err(protocol("expected a config frame first").into()) };
        let spec: Spec = serde_json::from_value(spec).map_err(|e| SpecError::new("config", e.to_string()))?;
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        return Ok((spec, cwd));
    }
    let bundle = args.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| RunError::Sys { op: "read", path: path.display().to_string(), errno: errno_of(&e) })?;
    let spec: Spec = serde_json::from_str(&text).map_err(|e| SpecError::new("config.json", e.to_string()))?;
    let bundle = std::fs::canonicalize(&bundle).unwrap_or(bundle);
    Ok((spec, bundle))
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

fn run_container(args: &RunArgs, mut control: Option<&mut Control>) -> Result<i32> {
    validate_id(&args.id)?;
    let (spec, bundle) = load_spec(args, control.as_deref_mut())?;
    let plan = Plan::from_spec(&spec, Path::new(&bundle))?;
    let sfd = signals::block_and_open()?;
    let Started { pid, guard, master, .. } = start(&args.id, &plan, control.as_deref_mut())?;
    if let Some(c) = control.as_deref_mut() {
        c.send(&FromRuntime::Started { id: args.id.clone(), pid: pid.as_raw() });
    }
    let mut relay = Relay::new(master);
    let _raw_mode = relay.master.as_ref().and_then(|_| pty::RawMode::enter());
    let exit = supervise::run(pid, &sfd, control.as_deref_mut(), &mut relay)?;
    for e in guard.finish() {
        eprintln!("nsbox-runtime: cleanup: {}", e.to_wire());
    }
    if let Some(c) = control {
        c.send(&FromRuntime::Exited { exit_code: exit.code, signal: exit.signal.map(|s| s.as_str().to_string()) });
    }
    Ok(exit.code)
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
pub fn start(id: &str, plan: &Plan, control: Option<&mut Control>) -> Result<Started> {
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
    // SAFETY: nsbox-runtime is single-threaded; the child only runs child::main and then execs.
    let raw = unsafe { syscalls::clone_with_flags(flags) }.map_err(|errno| RunError::Sys { op: "clone3", path: id.to_string(), errno })?;
    if raw == 0 {
        drop(sync);
        child::main(plan, child_sync);
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

pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok { Ok(()) } else { Err(SpecError::new("id", format!("{id:?} must be 1-128 characters of [A-Za-z0-9_.-]")).into()) }
}
