//! OCI `create` and `start` without a monitor of ours (runc's process model, for engines: conmon,
//! containerd's shim). `create` builds the container through the same creation path as every
//! other caller (create::start_or_hold), with its first process waiting on the exec fifo; gives it
//! the runtime's own stdio (or the console socket the pty master); writes the pid file; records
//! state.json with mode "oci" and exits. The caller, a subreaper, reaps the container. `start`
//! releases the fifo.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nsbox_core::error::errno_name;
use nsbox_core::namespaces::NsKind;
use nsbox_core::WireError;

use crate::create::{fifo, hooks, start_or_hold};
use crate::error::{rule_wire, sys_wire, Result};
use crate::process::{console, signals};
use crate::spec::{load_spec, validate_id, Plan, RunArgs, SpecError};
use crate::state::{self, namespaces_of, now_rfc3339, Root, State, OCI_MODE};

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    /// issue #9's rule: a caller's terminal is never handed to a container.
    #[error("create(): ERR_TERMINAL: the runtime's {name} is a terminal and process.terminal is false: the container would get the caller's terminal; give it pipes or files, or set process.terminal with --console-socket")]
    CallerTerminal { name: &'static str },
    #[error("create(): ERR_INVALID_SPEC: {0}")]
    Console(&'static str),
    #[error("start(): ERR_NOT_CREATED: container {id} is {status}: only a created container can be started")]
    NotCreated { id: String, status: String },
}

impl OciError {
    pub fn to_wire(&self) -> WireError {
        match self {
            OciError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            e @ OciError::CallerTerminal { .. } => rule_wire("ERR_TERMINAL", "create", "", e.to_string().trim_start_matches("create(): ERR_TERMINAL: ")),
            OciError::Console(msg) => rule_wire("ERR_INVALID_SPEC", "create", "", msg),
            OciError::NotCreated { id, status } => {
                rule_wire("ERR_NOT_CREATED", "start", "", &format!("container {id} is {status}: only a created container can be started"))
            }
        }
    }
}

pub struct CreateArgs {
    pub id: String,
    pub bundle: Option<PathBuf>,
    pub root: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
}

/// Removes the reserved directory and name unless disarmed (the container was created).
struct Reserved<'a> {
    root: &'a Root,
    id: String,
    name: String,
    armed: bool,
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.root.remove(&self.id, &self.name);
        }
    }
}

const STDIO: [&str; 3] = ["stdin", "stdout", "stderr"];

/// Refuses to hand the caller's terminal to a container without one of its own.
pub fn refuse_caller_terminal() -> std::result::Result<(), OciError> {
    for (fd, name) in STDIO.iter().enumerate() {
        // SAFETY: 0/1/2 stay open for the runtime's whole life; isatty only inspects them.
        if nix::unistd::isatty(unsafe { BorrowedFd::borrow_raw(fd as i32) }).unwrap_or(false) {
            return Err(OciError::CallerTerminal { name });
        }
    }
    Ok(())
}

/// Checks the terminal/console-socket pairing as runc does.
pub fn check_console(terminal: bool, socket: Option<&Path>) -> std::result::Result<(), OciError> {
    match (terminal, socket) {
        (true, None) => Err(OciError::Console("process.terminal is true: --console-socket is required (the pty master is sent there)")),
        (false, Some(_)) => Err(OciError::Console("--console-socket needs process.terminal: there is no pty to send")),
        (false, None) => refuse_caller_terminal(),
        (true, Some(_)) => Ok(()),
    }
}

pub fn create(args: CreateArgs) -> Result<()> {
    validate_id(&args.id)?;
    let run = RunArgs { id: args.id.clone(), bundle: args.bundle.clone(), config_fd: None, control_fd: None, root: Some(args.root.clone()), no_new_keyring: args.no_new_keyring };
    let (spec, bundle) = load_spec(&run, None)?;
    let mut plan = Plan::from_spec(&spec, &bundle)?;
    check_console(plan.process.terminal, args.console_socket.as_deref())?;
    if plan.seccomp.as_ref().is_some_and(|s| s.config.listener_path().is_some()) {
        return Err(SpecError::new("linux.seccomp.listenerPath", "seccomp notify needs the runtime at start, which OCI create without a monitor is not: use nsbox-runtime run or create --monitor").into());
    }
    plan.state_root = Some(args.root.clone());
    plan.new_keyring = !args.no_new_keyring;
    plan.preserve_fds = args.preserve_fds;
    plan.wait_start = true;
    let root = Root { dir: args.root.clone() };
    let name = root.reserve(&args.id, None)?;
    let mut reserved = Reserved { root: &root, id: args.id.clone(), name: name.clone(), armed: true };
    let dir = root.dir_of(&args.id);
    let text = serde_json::to_vec_pretty(&spec).map_err(|e| SpecError::new("config", e.to_string()))?;
    root.write_config(&args.id, &text)?;
    let fifo_path = dir.join(fifo::NAME);
    let owner = plan.has(NsKind::User).then(|| {
        let host = |m: &[nsbox_core::idmap::IdMapping]| nsbox_core::idmap::to_host(m, 0).unwrap_or(0);
        (host(&plan.uid_map), host(&plan.gid_map))
    });
    fifo::make(&fifo_path, owner)?;
    plan.exec_fifo = Some(fifo_path);
    let mut st = State {
        id: args.id.clone(),
        name,
        mode: OCI_MODE.into(),
        status: "creating".into(),
        created_at: now_rfc3339(),
        bundle: bundle.display().to_string(),
        rootfs: plan.root.display().to_string(),
        command: plan.process.args.clone(),
        tty: plan.process.terminal,
        uid_map: plan.uid_map.clone(),
        gid_map: plan.gid_map.clone(),
        ..State::default()
    };
    root.write(&st)?;
    // The container's process starts with these blocked, as in every other path; it restores
    // the defaults right before its command.
    let _sfd = signals::block_and_open()?;
    let started = start_or_hold(&args.id, &plan, None, true)?;
    if let (Some(m), Some(sock)) = (&started.master, &args.console_socket) {
        console::send(sock, m.as_fd())?;
    }
    let pid = started.pid.as_raw();
    st.status = "created".into();
    st.pid = Some(pid);
    st.pid_start_time = state::start_time(pid);
    let cgroups = started.guard.cgroups.as_ref();
    st.cgroups = cgroups.map(|c| c.dirs.iter().map(|d| d.display().to_string()).collect()).unwrap_or_default();
    st.cgroups_parents = cgroups.map(|c| c.parents.iter().map(|d| d.display().to_string()).collect()).unwrap_or_default();
    st.namespaces = namespaces_of(pid);
    root.write(&st)?;
    if let Some(p) = &args.pid_file {
        PidFile::open(p)?.write(pid)?;
    }
    root.event("create", &st);
    reserved.armed = false;
    started.detach();
    Ok(())
}

/// `--pid-file`: its directory is opened when the command starts (exec writes the file from
/// inside the container's mount namespace, where the path means nothing), and the pid is written
/// without a newline through a temporary name and renameat(2): the caller reads it whole.
pub struct PidFile {
    dir: std::os::fd::OwnedFd,
    name: String,
    shown: String,
}

impl PidFile {
    pub fn open(path: &Path) -> std::result::Result<PidFile, OciError> {
        let shown = path.display().to_string();
        let sys = |op: &'static str| {
            let p = shown.clone();
            move |errno: Errno| OciError::Sys { op, path: p, errno }
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| sys("pid file")(Errno::EINVAL))?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = nix::fcntl::open(parent, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open pid file directory"))?;
        Ok(PidFile { dir, name, shown })
    }

    pub fn write(&self, pid: i32) -> std::result::Result<(), OciError> {
        let tmp = format!(".{}.{}", self.name, std::process::id());
        let sys = |op: &'static str| {
            let p = self.shown.clone();
            move |errno: Errno| OciError::Sys { op, path: p, errno }
        };
        let fd = nix::fcntl::openat(&self.dir, tmp.as_str(), OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC, Mode::from_bits_truncate(0o644))
            .map_err(sys("create pid file"))?;
        let done = nix::unistd::write(&fd, pid.to_string().as_bytes())
            .map_err(sys("write pid file"))
            .and_then(|_| nix::fcntl::renameat(&self.dir, tmp.as_str(), &self.dir, self.name.as_str()).map_err(sys("rename pid file")));
        if done.is_err() {
            let _ = nix::unistd::unlinkat(&self.dir, tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
        done
    }
}

/// Whether `reference` names a container made by OCI `create` (start goes through its fifo).
pub fn is_oci(root: &Root, reference: &str) -> bool {
    root.find(reference).and_then(|id| root.read(&id)).map(|s| s.mode == OCI_MODE).unwrap_or(false)
}

/// OCI `start`: releases the process waiting on the exec fifo, then runs the poststart hooks.
pub fn start(root: &Root, reference: &str) -> Result<()> {
    let id = root.find(reference)?;
    let mut st = root.read(&id)?;
    let status = st.live_status().to_string();
    if status != "created" {
        return Err(OciError::NotCreated { id, status }.into());
    }
    let (pid, t) = (st.pid, st.pid_start_time);
    fifo::release(&root.dir_of(&id).join(fifo::NAME), &id, || state::alive(pid, t))?;
    st.status = "running".into();
    st.started_at = Some(now_rfc3339());
    root.write(&st)?;
    root.event("start", &st);
    if let Some((plan, _)) = saved_plan(root, &id, &st) {
        let state = plan.hook_state(&id, "running", pid.unwrap_or(0));
        for e in hooks::run_all("poststart", plan.hooks.poststart().as_deref().unwrap_or_default(), &state) {
            eprintln!("nsbox-runtime: warning: {e}");
        }
    }
    Ok(())
}

/// The plan of a container from the config saved in its directory (hooks, process defaults).
pub fn saved_plan(root: &Root, id: &str, st: &State) -> Option<(Plan, oci_spec::runtime::Spec)> {
    let text = std::fs::read_to_string(root.dir_of(id).join("config.json")).ok()?;
    let spec: oci_spec::runtime::Spec = serde_json::from_str(&text).ok()?;
    let plan = Plan::from_spec(&spec, Path::new(&st.bundle)).ok()?;
    Some((plan, spec))
}
