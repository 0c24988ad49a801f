//! The container's first process, from clone to exec. It waits until the parent has written its
//! id maps and placed it in its cgroups, then builds everything else from the inside.

use std::os::fd::{AsFd, AsRawFd};

use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{sethostname, setresgid, setresuid, Gid, Uid};
use nsbox_core::idmap::to_host;
use nsbox_core::namespaces::NsKind;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use super::join::Joins;
use super::{fifo, hooks, lo};
use super::sync::{SyncMsg, SyncSocket};
use crate::error::{errno_of, sys_wire, ContainerError, Result};
use crate::process::stdio::{self, ChildEnds};
use crate::process::{self, init, pty, settings};
use crate::spec::Plan;
use crate::seccomp::{self, Filter};
use crate::{rootfs, syscalls};

/// A step of the child's own (namespaces, hostname, ids, lo.rs's loopback) failed; the steps it
/// delegates fail with their modules' errors.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
}

impl ChildError {
    pub fn to_wire(&self) -> WireError {
        match self {
            ChildError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
        }
    }
}

pub fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> ChildError {
    let path = path.to_string();
    move |errno| ChildError::Sys { op, path, errno }
}

/// Never returns: the process becomes the command, or reports why not and exits. `filter` was
/// compiled by the parent before clone; `keyring` names the session keyring to join (None:
/// `--no-new-keyring`); `can_ptrace`: whether the runtime holds CAP_SYS_PTRACE on the host (see
/// init::run).
pub fn main(plan: &Plan, joins: &Joins, mut sync: SyncSocket, stdio: ChildEnds, filter: Option<&Filter>, keyring: Option<&str>, can_ptrace: bool) -> ! {
    // Set once OCI `create` has been told we are ready and has gone: from then on a failure can
    // only be told on our stderr (the caller's log) and in our exit status.
    let mut alone = false;
    if let Err(e) = setup(plan, joins, &mut sync, stdio, filter, keyring, &mut alone, can_ptrace) {
        fail(&mut sync, e, alone)
    }
    let late = seccomp::late(filter, &plan.process);
    if plan.init {
        // init stays as PID 1; it owns the only copy of the sync socket from here on, whose
        // closing tells the runtime that the command was exec'd. It loads the filter itself,
        // before it forks the command: init runs under it too.
        let code = init::run(&plan.process, sync, late, can_ptrace);
        // SAFETY: _exit skips atexit handlers and buffered output, none of which is ours to run.
        unsafe { libc::_exit(code) }
    }
    let e = process::exec(&plan.process, || late.map_or(Ok(()), |f| f.load(&mut sync)));
    fail(&mut sync, e, alone)
}

fn fail(sync: &mut SyncSocket, e: ContainerError, alone: bool) -> ! {
    if alone {
        eprintln!("nsbox-runtime: {e}");
    } else {
        let _ = sync.send(&SyncMsg::Failed { error: e.to_wire(), exit_code: e.exit_code() });
    }
    // SAFETY: as above.
    unsafe { libc::_exit(e.exit_code()) }
}

#[allow(clippy::too_many_arguments)]
fn setup(plan: &Plan, joins: &Joins, sync: &mut SyncSocket, caller_stdio: ChildEnds, filter: Option<&Filter>, keyring: Option<&str>, alone: &mut bool, can_ptrace: bool) -> Result<()> {
    // If the runtime dies, so does the container: nothing is left running unsupervised. (OCI
    // `create` clears this once the container waits for `start`: its caller reaps it then.)
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(sys("prctl PR_SET_PDEATHSIG", ""))?;
    // First of all: leave the caller's session, and its terminal (stdio.rs says why). With --init,
    // init is the session leader and its command inherits the session; with -t, attach_slave below
    // makes a session of its own whose terminal is the container's pty.
    stdio::install(caller_stdio, plan.process.terminal)?;
    if let Some(cpus) = &plan.process.cpu_affinity_initial {
        // Before the parent moves us into the container's cgroups (the spec's "initial").
        settings::affinity(cpus, "process.execCPUAffinity.initial")?;
    }
    let first_go = sync.expect_go()?;
    // While the host's mount table is ours to see (before a mount namespace is joined): a handle
    // on the exec fifo the container cannot swap.
    let exec_fifo = plan.exec_fifo.as_deref().map(fifo::open_path).transpose()?;
    // While our /proc/self is still the host's and ours (before any id change).
    settings::oom_score_adj(&plan.process)?;
    // With a late user namespace the state for our hooks comes with the second Go.
    let hook_state = enter_namespaces(plan, joins, sync)?.unwrap_or(first_go);
    if plan.has(NsKind::User) {
        become_root_inside(plan)?;
    }
    if plan.creates(NsKind::Cgroup) {
        // Only now: the parent has moved us into our cgroup, which becomes this namespace's root.
        unshare(CloneFlags::CLONE_NEWCGROUP).map_err(sys("unshare", "cgroup"))?;
    }
    if plan.creates(NsKind::Time) {
        enter_time_namespace(plan.time_offsets.unwrap_or_default())?;
    }
    // Non-dumpable from here to the exec of the command (the kernel decides again at exec), and
    // for good as `--init`'s PID 1: no process in the container may ptrace us, open our
    // /proc/PID/{exe,environ,fd,mem} or write our memory. Until now only we were in these
    // namespaces, and the parent needed our /proc files to write the id maps (rootless).
    nix::sys::prctl::set_dumpable(false).map_err(sys("prctl PR_SET_DUMPABLE", "0"))?;
    if plan.has(NsKind::Uts) {
        if let Some(h) = &plan.hostname {
            sethostname(h).map_err(sys("sethostname", h))?;
        }
        if let Some(d) = &plan.domainname {
            // SAFETY: d points to d.len() valid bytes for the duration of the call.
            let r = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
            Errno::result(r).map_err(sys("setdomainname", d))?;
        }
    }
    // A received network namespace (org.nsbox.net-helper-namespaces) is new too: its lo is down.
    if plan.creates(NsKind::Net) || plan.receive_namespaces {
        lo::up()?;
    }
    write_sysctls(plan)?;
    umask(Mode::empty());
    let create_container = plan.hooks.create_container().clone().unwrap_or_default();
    // In the container's namespaces, its mounts made, before pivot_root (runtime-spec).
    let mut before_pivot = || -> Result<()> { Ok(hooks::run("createContainer", &create_container, &hook_state)?) };
    if plan.has(NsKind::Mnt) {
        rootfs::setup(plan, &mut before_pivot)?;
    } else {
        // No mount namespace: the caller's mount tree, its mounts made there, seen from
        // root.path (runc chroots too).
        rootfs::caller::setup(plan, &mut before_pivot)?;
    }
    umask(Mode::from_bits_truncate(plan.process.umask.unwrap_or(0o022) as libc::mode_t));
    if plan.process.terminal {
        let (master, slave) = pty::open()?;
        if let Some((rows, cols)) = plan.process.console_size {
            pty::set_size(master.as_fd(), rows, cols);
        }
        sync.send_fd(master.as_fd())?;
        drop(master);
        pty::attach_slave(slave)?;
    }
    settings::rlimits(&plan.process)?;
    if plan.wait_start {
        // Held maybe for long (`create`): let go of everything of the runtime's but the sync
        // socket, the exec fifo and the descriptors the caller passes on (--preserve-fds).
        let mut keep: Vec<u32> = (3..3 + plan.preserve_fds).collect();
        keep.push(sync.0.as_raw_fd() as u32);
        keep.extend(exec_fifo.as_ref().map(|f| f.as_raw_fd() as u32));
        syscalls::close_from_keeping(3, &keep);
        match exec_fifo {
            Some(f) => {
                fifo::check(&f)?;
                // Our caller (a subreaper: conmon, containerd's shim) reaps us once `create` exits.
                nix::sys::prctl::set_pdeathsig(None).map_err(sys("prctl PR_SET_PDEATHSIG", "0"))?;
                sync.send(&SyncMsg::Created)?;
                *alone = true;
                fifo::wait(f)?;
            }
            None => {
                // Rootless with a network namespace of our own and no hand-over of it
                // (create/handover.rs gives pasta/slirp4netns our namespaces as descriptors; a
                // rootless user-defined network's attach still opens /proc/PID/ns/net): while held
                // for `start`, that attach (the same host uid, no CAP_SYS_PTRACE) must open our
                // /proc/PID/ns/*, which non-dumpable forbids. Nothing of the container runs yet;
                // whoever else could open them runs as the caller's uid and could ptrace the
                // runtime itself anyway. Only with a pid namespace of our own (no process of a
                // joined one sees us meanwhile) and a user namespace of our own (the rootless
                // case). Cleared again below.
                let open_ns = !can_ptrace && plan.net_helper_socket.is_none() && plan.creates(NsKind::Net) && plan.creates(NsKind::User) && plan.creates(NsKind::Pid);
                if open_ns {
                    nix::sys::prctl::set_dumpable(true).map_err(sys("prctl PR_SET_DUMPABLE", "1"))?;
                }
                sync.send(&SyncMsg::Created)?;
                sync.expect("Start", |m| matches!(m, SyncMsg::Start))?;
                if open_ns {
                    nix::sys::prctl::set_dumpable(false).map_err(sys("prctl PR_SET_DUMPABLE", "0"))?;
                }
            }
        }
    }
    // In the container, after `start`, before the command (runtime-spec).
    hooks::run("startContainer", plan.hooks.start_container().as_deref().unwrap_or_default(), &hook_state)?;
    if let Some(name) = keyring {
        // Before the filter, which refuses keyctl.
        process::keyring::join(name)?;
    }
    if let Some(f) = seccomp::early(filter, &plan.process) {
        f.load(sync)?;
    }
    settings::before_exec(&plan.process, plan.personality)?;
    process::set_identity(&plan.process, plan.has(NsKind::User))?;
    syscalls::pass_fds(plan.preserve_fds);
    Ok(())
}

/// The namespaces clone did not make: those joined by path (join.rs), and, when the user namespace
/// comes late (joined, or made after joining others), the user namespace and then every other one
/// made for the container, so that they belong to it.
fn enter_namespaces(plan: &Plan, joins: &Joins, sync: &mut SyncSocket) -> Result<Option<String>> {
    if !plan.late_user() {
        joins.enter(false)?;
        return Ok(None);
    }
    let mut second_go = None;
    if plan.joined(NsKind::User) {
        joins.enter(true)?;
        joins.enter(false)?;
    } else {
        // Joined with the runtime's own rights, before they are given up in a new user namespace.
        joins.enter(false)?;
        unshare(CloneFlags::CLONE_NEWUSER).map_err(sys("unshare", "user"))?;
        sync.send(&SyncMsg::MapUser)?;
        second_go = Some(sync.expect_go()?);
    }
    let rest = plan
        .namespaces
        .iter()
        .filter(|k| plan.creates(**k) && !matches!(k, NsKind::User | NsKind::Pid | NsKind::Time | NsKind::Cgroup))
        .fold(CloneFlags::empty(), |f, k| f | k.clone_flag());
    if !rest.is_empty() {
        unshare(rest).map_err(sys("unshare", format!("{rest:?}")))?;
    }
    Ok(second_go)
}

/// `linux.sysctl`, each already checked to be namespaced (spec/linux.rs): written through /proc/sys,
/// whose entries are those of the writer's namespaces, before the root is entered.
fn write_sysctls(plan: &Plan) -> std::result::Result<(), ChildError> {
    for (path, value) in &plan.sysctl {
        let file = format!("/proc/sys/{path}");
        std::fs::write(&file, value).map_err(|e| sys("write sysctl", &file)(errno_of(&e)))?;
    }
    Ok(())
}

/// Root inside (when 0 is mapped) so the setup below acts as the container's root would. A joined
/// user namespace's maps are not in the plan: root there if it is mapped (EINVAL: it is not).
fn become_root_inside(plan: &Plan) -> std::result::Result<(), ChildError> {
    let joined = plan.joined(NsKind::User);
    let tolerate = |r: nix::Result<()>, op: &'static str| match r {
        Err(Errno::EINVAL) if joined => Ok(()),
        r => r.map_err(sys(op, "0")),
    };
    if joined || to_host(&plan.gid_map, 0).is_some() {
        tolerate(setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)), "setresgid")?;
    }
    if joined || to_host(&plan.uid_map, 0).is_some() {
        tolerate(setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)), "setresuid")?;
    }
    // Changing ids cleared "dumpable", which hands our /proc/self files to the host's root; we
    // still have to write /proc/self/timens_offsets. setup() clears it again right after.
    nix::sys::prctl::set_dumpable(true).map_err(sys("prctl PR_SET_DUMPABLE", ""))?;
    Ok(())
}

/// unshare(CLONE_NEWTIME) leaves us outside the new namespace until exec (or fork), which is
/// exactly the window in which its offsets may still be written.
fn enter_time_namespace(offsets: [(i64, u32); 2]) -> std::result::Result<(), ChildError> {
    unshare(CloneFlags::from_bits_retain(0x80)).map_err(sys("unshare", "time"))?;
    if offsets == [(0, 0); 2] {
        return Ok(());
    }
    let [(boot_s, boot_ns), (mono_s, mono_ns)] = offsets;
    let text = format!("monotonic {mono_s} {mono_ns}\nboottime {boot_s} {boot_ns}\n");
    std::fs::write("/proc/self/timens_offsets", text)
        .map_err(|e| sys("write timens_offsets", "/proc/self/timens_offsets")(errno_of(&e)))
}
