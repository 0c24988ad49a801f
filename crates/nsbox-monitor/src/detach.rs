//! `nsbox-runtime run --detach`: the caller's runtime process forks twice; the grandchild, in a
//! session of its own and reparented away from the caller, becomes the container's monitor. The
//! monitor reserves the id and name, creates the container (it is its parent, so it can reap it)
//! and reports "started" or the error back through a pipe, then lives on for as long as the
//! container does. The caller's process exits as soon as that report arrives.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe2, setsid, ForkResult};
use nsbox_core::error::errno_name;
use nsbox_core::protocol::{read_frame, write_frame, FromRuntime};
use nsbox_core::WireError;
use serde::{Deserialize, Serialize};

use nsbox_container::control::Control;
use nsbox_container::create::{start_or_hold, Started};
use nsbox_container::error::{rule_wire, sys_wire};
use nsbox_container::ops::report_wire;
use nsbox_container::process::signals;
use nsbox_container::spec::{load_spec, validate_id, Plan, RunArgs, SpecError};
use nsbox_container::state::{self, namespaces_of, now_rfc3339, Root, State};

use crate::error::{MonitorError, Result};
use crate::{logs, monitor};

/// Starting the monitor, or the monitor's own set-up of the container's stdio and config.
#[derive(Debug, thiserror::Error)]
pub enum DetachError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("start monitor({id}): ERR_RUNTIME: the monitor died before reporting whether the container started")]
    MonitorDied { id: String },
}

impl DetachError {
    pub fn to_wire(&self) -> WireError {
        match self {
            DetachError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            DetachError::MonitorDied { id } => {
                rule_wire("ERR_RUNTIME", "start monitor", id, "the monitor died before reporting whether the container started")
            }
        }
    }
}

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> DetachError {
    let path = path.to_string();
    move |errno| DetachError::Sys { op, path, errno }
}

pub struct DetachOpts {
    pub root: Option<PathBuf>,
    pub name: Option<String>,
    pub auto_remove: bool,
    pub log_max_size: u64,
    /// `create`: stop at `created` (the command waits for `start`).
    pub create: bool,
    /// `-i`: the container's stdin is a pipe the monitor keeps open (attach writes to it).
    pub stdin: bool,
    /// `--die-with PID`: the container is killed when that process ends.
    pub die_with: Option<i32>,
}

/// Monitor → caller, once: the container runs (pid), or why it does not.
#[derive(Serialize, Deserialize)]
struct Report {
    pid: Option<i32>,
    name: String,
    error: Option<WireError>,
    exit_code: i32,
}

pub fn run(args: RunArgs, opts: DetachOpts) -> i32 {
    let mut control = match args.control_fd.map(Control::from_fd).transpose() {
        Ok(c) => c,
        Err(e) => return report(None, &e.into()),
    };
    let prepared = validate_id(&args.id)
        .and_then(|_| load_spec(&args, control.as_mut()))
        .and_then(|(spec, bundle)| Ok((Plan::from_spec(&spec, &bundle)?, spec, bundle)));
    let (mut plan, spec, bundle) = match prepared {
        Ok(p) => p,
        Err(e) => return report(control.as_mut(), &e.into()),
    };
    plan.wait_start |= opts.create;
    if let Some(o) = plan.overlay.as_mut() {
        // With --rm the monitor removes the writable layer when the container ends.
        o.volatile = opts.auto_remove && nsbox_container::container_layer_of(o, &args.id);
    }
    plan.state_root.clone_from(&args.root);
    plan.new_keyring = !args.no_new_keyring;
    if let Some(n) = &opts.name {
        if let Err(e) = state::validate_name(n) {
            return report(control.as_mut(), &e.into());
        }
    }
    // Opened before the container exists, so the parent cannot end unnoticed in between.
    let parent = match opts.die_with.map(crate::diewith::Parent::open).transpose() {
        Ok(p) => p,
        Err(e) => return report(control.as_mut(), &e.into()),
    };
    match spawn_monitor(&args.id, &plan, &spec, bundle, &opts, parent, &mut control) {
        Ok(Report { error: None, .. }) => 0,
        // The monitor told the caller itself when it had the control socket.
        Ok(Report { error: Some(w), exit_code, .. }) => {
            if control.is_none() {
                eprintln!("nsbox-runtime: {w}");
            }
            exit_code
        }
        Err(e) => report(control.as_mut(), &e),
    }
}

fn report(control: Option<&mut Control>, e: &MonitorError) -> i32 {
    report_wire(control, &e.to_wire(), e.exit_code())
}

fn spawn_monitor(id: &str, plan: &Plan, spec: &oci_spec::runtime::Spec, bundle: PathBuf, opts: &DetachOpts, parent: Option<crate::diewith::Parent>, control: &mut Option<Control>) -> Result<Report> {
    let (rd, wr) = pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe2", "report"))?;
    // SAFETY: nsbox-runtime is single-threaded, so the children may run arbitrary code.
    match unsafe { fork() }.map_err(sys("fork", "monitor"))? {
        ForkResult::Child => {
            drop(rd);
            let _ = setsid();
            // SAFETY: as above; the intermediate process only forks again and exits.
            let code = match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    // This process's copy of the control socket becomes the monitor's.
                    monitor_main(id, plan, spec, &bundle, opts, parent, control.take(), wr)
                }
                Ok(ForkResult::Parent { .. }) => 0,
                Err(_) => 125,
            };
            // SAFETY: _exit skips atexit handlers and stdio buffers, none of which are ours to run here.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(wr);
            let _ = waitpid(child, None);
            let mut f = File::from(rd);
            match read_frame::<_, Report>(&mut f) {
                Ok(Some(r)) => Ok(r),
                _ => Err(DetachError::MonitorDied { id: id.to_string() }.into()),
            }
        }
    }
}

/// Runs in the monitor; returns its exit status.
#[allow(clippy::too_many_arguments)]
fn monitor_main(id: &str, plan: &Plan, spec: &oci_spec::runtime::Spec, bundle: &std::path::Path, opts: &DetachOpts, parent: Option<crate::diewith::Parent>, mut control: Option<Control>, report: OwnedFd) -> i32 {
    let root = Root::resolve(opts.root.as_deref());
    let mut report = File::from(report);
    let mut name = String::new();
    match boot(&root, id, plan, spec, bundle, opts, control.as_mut(), &mut name) {
        Err(e) => {
            if let Some(c) = control.as_mut() {
                c.error(&e.to_wire(), e.exit_code());
            }
            let _ = write_frame(&mut report, &Report { pid: None, name, error: Some(e.to_wire()), exit_code: e.exit_code() });
            e.exit_code()
        }
        Ok(booted) => {
            let pid = booted.started.pid.as_raw();
            // A created container's `created` frame went out when it got there (create::start_or_hold).
            if let (Some(c), None) = (control.as_mut(), &booted.started.held) {
                c.send(&FromRuntime::Started { id: id.to_string(), pid });
            }
            let _ = write_frame(&mut report, &Report { pid: Some(pid), name: booted.state.name.clone(), error: None, exit_code: 0 });
            drop(report);
            drop(control);
            monitor::trim_memory();
            monitor::serve(root, booted, parent)
        }
    }
}

/// Everything the monitor's loop takes over once the command runs.
pub struct Booted {
    pub started: Started,
    pub state: State,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// With `-i` (no tty): the write end of the container's stdin.
    pub stdin: Option<OwnedFd>,
    pub signals: nix::sys::signalfd::SignalFd,
    pub log: logs::LogWriter,
    /// attach.sock, bound before the caller hears back (so attach/start right after work).
    pub listener: Option<std::os::unix::net::UnixListener>,
}

/// Removes the container's directory and name unless disarmed (the container started).
struct Reservation<'a> {
    root: &'a Root,
    id: String,
    name: String,
    armed: bool,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.root.remove(&self.id, &self.name);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn boot(root: &Root, id: &str, plan: &Plan, spec: &oci_spec::runtime::Spec, bundle: &std::path::Path, opts: &DetachOpts, control: Option<&mut Control>, name_out: &mut String) -> Result<Booted> {
    let sfd = signals::block_and_open()?;
    // Orphans of the container (without a pid namespace of its own) come to us to be reaped.
    nix::sys::prctl::set_child_subreaper(true).map_err(sys("prctl PR_SET_CHILD_SUBREAPER", ""))?;
    let devnull = nix::fcntl::open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty()).map_err(sys("open", "/dev/null"))?;
    dup_onto(&devnull, 0)?;
    // With -i the container reads a pipe whose write end stays with us (for attach); else /dev/null.
    let stdin = if opts.stdin && !plan.process.terminal {
        let (r, w) = pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe2", "stdin"))?;
        nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(sys("fcntl O_NONBLOCK", "stdin pipe"))?;
        dup_onto(&r, 0)?;
        Some(w)
    } else {
        None
    };
    let name = root.reserve(id, opts.name.as_deref())?;
    name_out.clone_from(&name);
    let mut reservation = Reservation { root, id: id.to_string(), name: name.clone(), armed: true };
    let dir = root.dir_of(id);
    let text = serde_json::to_vec_pretty(spec).map_err(|e| SpecError::new("config", e.to_string()))?;
    root.write_config(id, &text)?;
    let mut st = initial_state(id, &name, plan, bundle, opts, &dir);
    root.write(&st)?;
    root.event("create", &st);
    let pipes = if plan.process.terminal { None } else { Some((output_pipe()?, output_pipe()?)) };
    if let Some(((_, out_w), (_, err_w))) = &pipes {
        dup_onto(out_w, 1)?;
        dup_onto(err_w, 2)?;
    } else {
        dup_onto(&devnull, 1)?;
        dup_onto(&devnull, 2)?;
    }
    let started = start_or_hold(id, plan, control, opts.create);
    // Our own stdio goes nowhere from now on; only the container holds the pipes' other ends.
    let _ = dup_onto(&devnull, 0).and_then(|_| dup_onto(&devnull, 1)).and_then(|_| dup_onto(&devnull, 2));
    let started = started?;
    if let Some(m) = &started.master {
        nix::fcntl::fcntl(m, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(sys("fcntl O_NONBLOCK", "pty master"))?;
    }
    let (stdout, stderr) = match pipes {
        Some(((out_r, _), (err_r, _))) => (Some(out_r), Some(err_r)),
        None => (None, None),
    };
    let pid = started.pid.as_raw();
    let held = started.held.is_some();
    st.status = if held { "created" } else { "running" }.into();
    st.pid = Some(pid);
    st.pid_start_time = state::start_time(pid);
    st.started_at = (!held).then(now_rfc3339);
    st.namespaces = namespaces_of(pid);
    st.cgroups = started.guard.cgroups.as_ref().map(|c| c.dirs.iter().map(|d| d.display().to_string()).collect()).unwrap_or_default();
    root.write(&st)?;
    if !held {
        root.event("start", &st);
    }
    reservation.armed = false;
    let log = logs::LogWriter::open(dir.join("container.log"), opts.log_max_size);
    let listener = std::os::unix::net::UnixListener::bind(dir.join("attach.sock")).ok();
    Ok(Booted { started, state: st, stdout, stderr, stdin, signals: sfd, log, listener })
}

fn initial_state(id: &str, name: &str, plan: &Plan, bundle: &std::path::Path, opts: &DetachOpts, dir: &std::path::Path) -> State {
    let me = std::process::id() as i32;
    State {
        id: id.to_string(),
        name: name.to_string(),
        status: "creating".into(),
        monitor_pid: Some(me),
        monitor_start_time: state::start_time(me),
        created_at: now_rfc3339(),
        bundle: bundle.display().to_string(),
        rootfs: plan.root.display().to_string(),
        command: plan.process.args.clone(),
        tty: plan.process.terminal,
        stdin_open: opts.stdin,
        auto_remove: opts.auto_remove,
        uid_map: plan.uid_map.clone(),
        gid_map: plan.gid_map.clone(),
        time_offsets: plan.time_offsets.map(|[b, m]| state::TimeOffsets { boottime: b.0, monotonic: m.0 }).unwrap_or_default(),
        mounts: plan.mounts.iter().map(|m| state::MountState { destination: m.destination.clone(), kind: m.kind.clone(), source: if m.bind { m.source.clone() } else { m.kind.clone() }, readonly: m.readonly }).collect(),
        log_path: dir.join("container.log").display().to_string(),
        log_max_size: opts.log_max_size,
        ..State::default()
    }
}

/// A pipe for one output stream: the read end stays with the monitor (nonblocking), the write end
/// goes to the container. A larger buffer absorbs bursts while the monitor writes the log.
fn output_pipe() -> std::result::Result<(OwnedFd, OwnedFd), DetachError> {
    let (r, w) = pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe2", "output"))?;
    let _ = nix::fcntl::fcntl(&r, nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 18));
    nix::fcntl::fcntl(&r, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(sys("fcntl O_NONBLOCK", "output pipe"))?;
    Ok((r, w))
}

fn dup_onto(fd: &OwnedFd, target: i32) -> std::result::Result<(), DetachError> {
    // SAFETY: dup2 onto a standard descriptor; `fd` stays owned by the caller.
    Errno::result(unsafe { libc::dup2(fd.as_raw_fd(), target) }).map(drop).map_err(sys("dup2", format!("fd {target}")))
}
