//! Creating a container: clone its first process into new namespaces, write its id maps, place it
//! in its cgroups, and walk it through the sync handshake up to the exec of its command (or hold it
//! at `created`). child.rs is the child's side, from clone to exec.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

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
use crate::process::stdio::{self, Pipes};
use crate::process::keyring;
use crate::seccomp::{self, Notify};
use crate::spec::{Plan, SpecError};
use crate::state::cgroup_record;
use crate::syscalls;

pub(crate) mod child;
pub mod handover;
pub mod fifo;
pub mod hooks;
pub(crate) mod idmaps;
pub(crate) mod join;
mod lo;
pub mod sync;
pub mod userns_parent;
pub mod userns;

use sync::{SyncError, SyncMsg, SyncSocket};

/// Reading the bundle's config or cloning the container's first process failed, or the config's
/// device rules could not be put in force.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error(transparent)]
    DeviceRules(#[from] nsbox_cgroups::devices::DeviceCgroupError),
    #[error(transparent)]
    Resources(#[from] nsbox_cgroups::resources::ResourceError),
    /// The config has device rules but the container got no cgroup that can hold them.
    #[error("{OP}: ERR_RUNTIME: {}", NO_DEVICE_CGROUP)]
    NoDeviceCgroup,
    #[error(transparent)]
    Handover(#[from] handover::HandoverError),
}

const OP: &str = "apply linux.resources.devices";
const NO_DEVICE_CGROUP: &str = "the config has device rules, but no cgroup could be created for the container to enforce \
     them in (not root, or a read-only cgroupfs); remove linux.resources.devices to run it without them";

impl RunError {
    pub fn to_wire(&self) -> WireError {
        match self {
            RunError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            RunError::DeviceRules(e) => e.to_wire(),
            RunError::Resources(e) => e.to_wire(),
            RunError::NoDeviceCgroup => WireError::runtime(OP, None, NO_DEVICE_CGROUP),
            RunError::Handover(e) => e.to_wire(),
        }
    }
}

/// Puts the plan's device rules in force in every cgroup the container got (the v1 devices
/// cgroup and the cgroup2 directory; on a hybrid host both), before the child goes on to mknod
/// or open anything. Rules that went nowhere are an error, never silently dropped.
fn apply_device_rules(plan: &Plan, cgroups: &Cgroups) -> std::result::Result<(), RunError> {
    if plan.devices.rules.is_empty() {
        return Ok(());
    }
    let applied = nsbox_cgroups::devices::apply_to_cgroups(&cgroups.dirs, &plan.devices.rules)?;
    if applied.is_empty() {
        return Err(RunError::NoDeviceCgroup);
    }
    Ok(())
}

/// Kills and reaps the child and removes its cgroups if we leave early, so a failed start leaves
/// nothing behind.
pub struct Guard {
    pid: Pid,
    pub cgroups: Option<Cgroups>,
    reaped: bool,
    /// The state root and id of the cgroups' record (state/cgroup_record.rs), dropped with them.
    record: Option<(PathBuf, String)>,
}

impl Guard {
    /// OCI `create` leaves the container to its caller: nothing is killed or removed any more.
    pub fn release(mut self) {
        self.reaped = true;
        self.cgroups = None;
    }

    /// The container was reaped: only its cgroups remain to remove.
    pub fn finish(mut self) -> Vec<CgroupError> {
        self.reaped = true;
        let errors = self.cgroups.take().map(|c| c.remove()).unwrap_or_default();
        self.forget(errors.is_empty());
        errors
    }

    /// The record goes once its cgroups are gone; one that could not be removed keeps it, for a
    /// later `delete` to try again.
    fn forget(&mut self, removed: bool) {
        if let (true, Some((root, id))) = (removed, self.record.take()) {
            cgroup_record::remove(&root, &id);
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
        match self.cgroups.take() {
            Some(c) => {
                let errors = c.remove();
                for e in &errors {
                    eprintln!("nsbox-runtime: cleanup: {}", e.to_wire());
                }
                self.forget(errors.is_empty());
            }
            // Recorded, but their creation failed (and removed what it had made): nothing to keep.
            None if !self.reaped => self.forget(true),
            None => {}
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
    /// Without `-t`: our ends of the pipes the container has in place of the terminals among our
    /// stdio (process/stdio.rs). Always empty in the monitor, whose stdio are no terminals.
    pub pipes: Pipes,
    /// The sync socket while the child waits at `created` for Start.
    pub held: Option<SyncSocket>,
    /// Where a seccomp notify listener goes, if the child has yet to load its filter.
    pub notify: Option<Notify>,
    /// The config's poststart hooks and the state they read, run once the command runs.
    poststart: Option<(Vec<oci_spec::runtime::Hook>, String)>,
}

impl Started {
    /// The poststart hooks, once the command runs: a failure is a warning (runtime-spec).
    fn poststart(&self) {
        if let Some((hooks, state)) = &self.poststart {
            for e in hooks::run_all("poststart", hooks, state) {
                eprintln!("nsbox-runtime: warning: {e}");
            }
        }
    }

    /// OCI `create`: the container is its caller's from now on (it waits on its exec fifo); our
    /// end of the sync socket closes and nothing is killed or removed when we exit.
    pub fn detach(self) {
        let Started { guard, held, .. } = self;
        drop(held);
        guard.release();
    }

    /// Lets a held container exec its command; Ok once it did (the sync socket closed on exec).
    pub fn release(&mut self) -> Result<()> {
        let Some(mut sync) = self.held.take() else { return Ok(()) };
        sync.send(&SyncMsg::Start)?;
        match drive(&mut sync, &mut self.master, &mut self.notify)? {
            Step::Execd => {
                self.poststart();
                Ok(())
            }
            Step::Created => Err(SyncError::protocol("sync", "created twice").into()),
        }
    }
}

enum Step {
    Created,
    Execd,
}

/// Reads the child's sync messages until it waits at `created` or has exec'd.
fn drive(sync: &mut SyncSocket, master: &mut Option<OwnedFd>, notify: &mut Option<Notify>) -> Result<Step> {
    loop {
        match sync.recv()? {
            None => return Ok(Step::Execd),
            Some(SyncMsg::Created) => return Ok(Step::Created),
            Some(SyncMsg::PtyMaster) => *master = Some(sync.recv_fd()?),
            Some(SyncMsg::SeccompListener) => {
                let fd = sync.recv_fd()?;
                let n = notify.as_mut().ok_or_else(|| SyncError::protocol("sync", "a seccomp listener nobody asked for"))?;
                n.send(fd)?;
            }
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
    // Compiled here, before clone: a bad filter is a spec error before anything exists, and the
    // child's load is one syscall.
    let filter = plan.seccomp.as_ref().map(|s| seccomp::prepare(s)).transpose()?;
    let keyring = plan.new_keyring.then(|| keyring::name(id));
    if !plan.has(NsKind::User) {
        // Refused before anything exists; in a user namespace of its own the child holds them all.
        crate::process::check_caps(&plan.process)?;
    }
    // org.nsbox.net-helper-namespaces: the keeper made the user and network namespaces (and
    // started the helper on them); from here on they are joined ones, entered as /proc/self/fd/N.
    let received = match (&plan.net_helper_socket, plan.receive_namespaces) {
        (Some(socket), true) => Some(handover::receive(socket).map_err(RunError::from)?),
        _ => None,
    };
    let with_received;
    let plan = match &received {
        Some(r) => {
            let mut p = plan.clone();
            p.join.push((NsKind::User, PathBuf::from(format!("/proc/self/fd/{}", r.user.as_raw_fd()))));
            p.join.push((NsKind::Net, PathBuf::from(format!("/proc/self/fd/{}", r.net.as_raw_fd()))));
            with_received = p;
            &with_received
        }
        None => plan,
    };
    let joins = join::Joins::open(plan)?;
    // Opened and checked before anything exists; joined right before clone (userns_parent.rs).
    let userns_parent = plan.userns_parent.as_deref().map(userns_parent::open_parent).transpose()?;
    let (mut sync, child_sync) = SyncSocket::pair()?;
    let (child_stdio, pipes) = stdio::for_terminals(plan.process.terminal)?;
    // Time and cgroup namespaces are unshared by the child itself: the first so its offsets can
    // be written before anything enters it, the second after it has joined its own cgroup. With a
    // late user namespace (join.rs) the child makes them all, after it.
    let flags = match plan.late_user() {
        true => 0,
        false => plan
            .namespaces
            .iter()
            .filter(|k| plan.creates(**k) && !matches!(k, NsKind::Time | NsKind::Cgroup))
            .fold(0u64, |f, k| f | k.clone_flag().bits() as u64),
    };
    // Asked here, in the host's user namespace: after the clone the child holds every capability
    // of its new one, whatever we hold.
    let can_ptrace = caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SYS_PTRACE).unwrap_or(false);
    let pid_join = joins.enter_pid()?;
    // Only with org.nsbox.userns-parent: from here on this process is in that user namespace, and
    // the container's maps are written in its ids.
    let translated = match userns_parent {
        Some(p) => Some(p.enter(&plan.uid_map, &plan.gid_map)?),
        None => None,
    };
    // A received user namespace (Plan::early_user): from here on this process is in it, so that
    // every namespace clone makes belongs to it; its maps must be the spec's.
    if plan.early_user() {
        // What "shared with the host" means in the saved state: our namespaces before this one.
        crate::state::remember_own_namespaces();
        joins.enter_user()?;
        if let Some(socket) = &plan.net_helper_socket {
            handover::check_maps(socket, &plan.uid_map, &plan.gid_map).map_err(RunError::from)?;
        }
    }
    // SAFETY: nsbox-runtime is single-threaded; the child only runs child::main and then execs.
    let raw = unsafe { syscalls::clone_with_flags(flags) }.map_err(|errno| RunError::Sys { op: "clone3", path: id.to_string(), errno })?;
    if raw == 0 {
        drop(sync);
        child::main(plan, &joins, child_sync, child_stdio, filter.as_ref(), keyring.as_deref(), can_ptrace);
    }
    drop(pid_join);
    drop(joins);
    drop(child_sync);
    drop(child_stdio);
    let pid = Pid::from_raw(raw);
    let mut guard = Guard { pid, cgroups: None, reaped: false, record: None };
    let mut master = None;
    let mut notify = plan.seccomp.as_ref().and_then(|s| Notify::new(s, id, raw));
    if plan.creates(NsKind::User) && !plan.late_user() {
        match &translated {
            Some((uids, gids)) => idmaps::write_all(raw, uids, gids)?,
            None => idmaps::write_all(raw, &plan.uid_map, &plan.gid_map)?,
        }
    }
    match (&plan.net_helper_socket, &received) {
        // The keeper watches the container's first process from now on.
        (Some(socket), Some(r)) => handover::send_pidfd(r, socket, pid).map_err(RunError::from)?,
        // As early as possible: the network helper starts while the child sets up (handover.rs).
        (Some(socket), None) => handover::send(socket, pid).map_err(RunError::from)?,
        _ => {}
    }
    drop(received);
    // Recorded before the first mkdir, for whoever finds them after a SIGKILL of this process at any
    // later point (cgroup_record.rs): the record names what is about to be made.
    let mut record = |dirs: &[PathBuf], parents: &[PathBuf]| {
        if let Some(root) = &plan.state_root {
            if cgroup_record::write(root, id, dirs, parents) {
                guard.record = Some((root.clone(), id.to_string()));
            }
        }
    };
    let needs: Vec<&str> = plan.resources.settings.iter().map(|s| s.controller).collect();
    let cgroups = match &plan.cgroups_path {
        Some(path) => Cgroups::create_at(path, &mut record)?,
        None => Cgroups::create(id, &needs, &mut record)?,
    };
    nsbox_cgroups::test_stop_at("cgroups-made");
    // In the guard at once: a failure below removes them (with our BPF program) and kills the child.
    guard.cgroups = Some(cgroups);
    let cgroups = guard.cgroups.as_ref().expect("just set");
    // Before the container joins: a memory limit below what it already uses could not be set.
    nsbox_cgroups::resources::apply(&plan.resources, &cgroups.dirs, &cgroups.kinds).map_err(RunError::from)?;
    cgroups.join(raw)?;
    nsbox_cgroups::test_stop_at("cgroups-joined");
    apply_device_rules(plan, cgroups)?;
    let state = plan.hook_state(id, "creating", raw);
    let child_hooks = plan.hooks.create_container().as_ref().is_some_and(|h| !h.is_empty())
        || plan.hooks.start_container().as_ref().is_some_and(|h| !h.is_empty());
    let poststart = plan.hooks.poststart().clone().filter(|h| !h.is_empty()).map(|h| (h, plan.hook_state(id, "running", raw)));
    if plan.creates(NsKind::User) && plan.late_user() {
        // The child makes its user namespace after joining others: it asks for its maps first,
        // and the hooks below run once they are written.
        sync.send(&SyncMsg::Go { state: String::new() })?;
        sync.expect("MapUser", |m| matches!(m, SyncMsg::MapUser))?;
        idmaps::write_all(raw, &plan.uid_map, &plan.gid_map)?;
    }
    // Cgroups exist, the root is not set up yet: runc's point for both. (With a late user
    // namespace the child makes the rest of its namespaces after this last Go.)
    // prestart (deprecated) sees "created", as crun gives it and the OCI suite's hooks_stdin expects;
    // createRuntime, its successor at the same point, sees "creating", as runc gives both.
    hooks::run("prestart", plan.hooks.prestart().as_deref().unwrap_or_default(), &plan.hook_state(id, "created", raw))?;
    hooks::run("createRuntime", plan.hooks.create_runtime().as_deref().unwrap_or_default(), &state)?;
    sync.send(&SyncMsg::Go { state: if child_hooks { state } else { String::new() } })?;
    if let Step::Created = drive(&mut sync, &mut master, &mut notify)? {
        let c = control.as_deref_mut();
        if hold {
            if let Some(c) = c {
                c.send(&FromRuntime::Created { id: id.to_string(), pid: raw });
            }
            return Ok(Started { pid, guard, master, pipes, held: Some(sync), notify, poststart });
        }
        let c = c.ok_or_else(|| SpecError::new("annotations", "org.nsbox.wait-start needs --control-fd"))?;
        c.send(&FromRuntime::Created { id: id.to_string(), pid: raw });
        wait_for_start(c, pid)?;
        let mut s = Started { pid, guard, master, pipes, held: Some(sync), notify, poststart };
        s.release()?;
        return Ok(s);
    }
    let s = Started { pid, guard, master, pipes, held: None, notify: None, poststart };
    s.poststart();
    Ok(s)
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
