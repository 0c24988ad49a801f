//! `nsbox-runtime exec ID -- CMD`: a new process in a running container. From this single-threaded
//! executable: join the container's cgroups, then its namespaces (user first, so the others are
//! entered with the capabilities it grants; mnt last), fork so the child is inside the pid
//! namespace, give the child the container's identity and capabilities, exec. Our exit status is
//! the command's; `-t` relays a pty opened in the container's own devpts, and without it the
//! child is in a session of its own and gets pipes for our stdio that are terminals (stdio.rs).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sched::setns;
use nix::unistd::{fork, ForkResult};
use nsbox_core::error::errno_name;
use nsbox_core::namespaces::NsKind;
use nsbox_core::protocol::FromRuntime;
use nsbox_core::WireError;
use oci_spec::runtime::Spec;

use crate::control::Control;
use crate::create::sync::{SyncError, SyncMsg, SyncSocket};
use crate::error::{errno_of, rule_wire, sys_wire, ContainerError, Result};
use crate::process::supervise::{self, Relay};
use crate::process::stdio::{self, ChildEnds};
use crate::process::{self, console, keyring, pty, signals};
use crate::seccomp::{self, Filter, Notify};
use crate::spec::{Plan, ProcessPlan, SpecError};
use crate::state::Root;
use crate::syscalls;

/// Joining the running container failed (the new process's own failures are ProcessError's).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("exec(): ERR_NOT_RUNNING: container {name} is not running ({status})")]
    NotRunning { name: String, status: String },
}

impl ExecError {
    pub fn to_wire(&self) -> WireError {
        match self {
            ExecError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            ExecError::NotRunning { name, status } => {
                rule_wire("ERR_NOT_RUNNING", "exec", "", &format!("container {name} is not running ({status})"))
            }
        }
    }
}

fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> ExecError {
    let path = path.to_string();
    move |errno| ExecError::Sys { op, path, errno }
}

#[derive(Default)]
pub struct ExecArgs {
    pub root: Option<std::path::PathBuf>,
    pub container: String,
    pub command: Vec<String>,
    pub tty: bool,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub user: Option<String>,
    pub control_fd: Option<i32>,
    /// `--no-new-keyring`: keep the caller's session keyring.
    pub no_new_keyring: bool,
    /// runc's `--process FILE`: the whole process (an OCI `process` object) instead of the
    /// container's with the overrides above.
    pub process_file: Option<std::path::PathBuf>,
    /// `--detach`: exit once the command runs; the caller (a subreaper) reaps it.
    pub detach: bool,
    pub pid_file: Option<std::path::PathBuf>,
    /// With a terminal: the pty master goes to this socket instead of being relayed by us.
    pub console_socket: Option<std::path::PathBuf>,
    pub preserve_fds: u32,
}

pub fn exec(args: ExecArgs) -> i32 {
    let mut control = match args.control_fd.map(Control::from_fd).transpose() {
        Ok(c) => c,
        Err(e) => return super::report(None, &e.into()),
    };
    match exec_in(&args, control.as_mut()) {
        Ok(code) => code,
        Err(e) => super::report(control.as_mut(), &e),
    }
}

/// `exec` without a control socket (runc's callers, our CLI): the error is the caller's to report.
pub fn exec_plain(args: &ExecArgs) -> Result<i32> {
    exec_in(args, None)
}

/// Entering order: user first; mnt last, because after it the host's /proc is out of reach.
const ORDER: [NsKind; 8] = [NsKind::User, NsKind::Cgroup, NsKind::Ipc, NsKind::Uts, NsKind::Net, NsKind::Pid, NsKind::Time, NsKind::Mnt];

fn exec_in(args: &ExecArgs, mut control: Option<&mut Control>) -> Result<i32> {
    let root = Root::resolve(args.root.as_deref());
    let id = root.find(&args.container)?;
    let st = root.read(&id)?;
    let pid = match (st.live_status(), st.pid) {
        ("running", Some(pid)) => pid,
        (status, _) => return Err(ExecError::NotRunning { name: st.name.clone(), status: status.to_string() }.into()),
    };
    let config = root.dir_of(&id).join("config.json");
    let text = std::fs::read_to_string(&config).map_err(|e| sys("read", config.display())(errno_of(&e)))?;
    let spec: Spec = serde_json::from_str(&text).map_err(|e| SpecError::new("config.json", e.to_string()))?;
    let plan = Plan::from_spec(&spec, Path::new(&st.bundle))?;
    let p = process_for(&plan, args)?;
    if args.detach || args.console_socket.is_some() {
        // Nobody of ours stays to relay a terminal: the caller gives pipes, or takes the pty.
        super::check_console(p.terminal, args.console_socket.as_deref())?;
    }
    // The container's filter, compiled (or read from the cache) while the state root is in
    // reach; a notify agent is connected to now for the same reason.
    let filter = plan.seccomp.as_ref().map(|s| seccomp::prepare(s)).transpose()?;
    let mut notify = match plan.seccomp.as_ref().and_then(|s| Notify::new(s, &id, pid)) {
        Some(n) => Some(n.connect()?),
        None => None,
    };
    let keyring = (!args.no_new_keyring).then(|| keyring::name(&id));
    // Both name paths of the caller's, which mean nothing once we are in the container's mount
    // namespace: reached now.
    let pid_file = args.pid_file.as_deref().map(super::PidFile::open).transpose()?;
    let console_socket = args.console_socket.as_deref().map(|s| console::connect(s).map(|c| (c, s))).transpose()?;
    // Namespace descriptors first, while /proc/PID is the host's view; only the ones that differ.
    let mut entries: Vec<(NsKind, OwnedFd)> = Vec::new();
    for kind in ORDER {
        let theirs = format!("/proc/{pid}/ns/{}", kind.proc_name());
        let ours = format!("/proc/self/ns/{}", kind.proc_name());
        if same_file(&theirs, &ours) {
            continue;
        }
        let fd = nix::fcntl::open(theirs.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
            .map_err(sys("open", &theirs))?;
        entries.push((kind, fd));
    }
    // The container may have exited between the check and the opens: then its pid is someone else's.
    if !crate::state::alive(Some(pid), st.pid_start_time) {
        return Err(ExecError::NotRunning { name: st.name, status: "exited".into() }.into());
    }
    nsbox_cgroups::join_dirs(&st.cgroups, std::process::id())?;
    // Before entering anything: the child we fork inherits this and is in the container's pid
    // namespace, where until its exec it must not be ptraced or have its /proc files opened.
    nix::sys::prctl::set_dumpable(false).map_err(sys("prctl PR_SET_DUMPABLE", "0"))?;
    let in_userns = entries.iter().any(|(k, _)| *k == NsKind::User);
    let own_mnt = entries.iter().any(|(k, _)| *k == NsKind::Mnt);
    for (kind, fd) in &entries {
        setns(fd, kind.clone_flag()).map_err(sys("setns", format!("/proc/{pid}/ns/{}", kind.proc_name())))?;
    }
    drop(entries);
    if !own_mnt && plan.root != Path::new("/") {
        // The container shares our mount namespace, chrooted to its root (rootfs/caller.rs): so is
        // what runs in it. Its root, through its process, as `nsenter --root` takes it.
        let root = format!("/proc/{pid}/root");
        nix::unistd::chroot(root.as_str()).map_err(sys("chroot", &root))?;
        std::env::set_current_dir("/").map_err(|e| sys("chdir", "/")(errno_of(&e)))?;
    }
    let sfd = signals::block_and_open()?;
    // In the container's mount namespace now: this pty belongs to its devpts.
    let pair = if p.terminal { Some(pty::open()?) } else { None };
    let (child_stdio, pipes) = stdio::for_terminals(p.terminal)?;
    let (mut sync, child_sync) = SyncSocket::pair()?;
    // SAFETY: single-threaded; the child sets its identity and execs.
    match unsafe { fork() }.map_err(sys("fork", "exec"))? {
        ForkResult::Child => {
            drop(sync);
            let mut child_sync = child_sync;
            let e = child(&p, pair.map(|(_, s)| s), child_stdio, in_userns, filter.as_ref(), keyring.as_deref(), args.preserve_fds, &mut child_sync);
            let _ = child_sync.send(&SyncMsg::Failed { error: e.to_wire(), exit_code: e.exit_code() });
            // SAFETY: _exit skips atexit handlers; nothing of ours needs flushing.
            unsafe { libc::_exit(e.exit_code()) }
        }
        ForkResult::Parent { child } => {
            drop(child_sync);
            drop(child_stdio);
            let master = pair.map(|(m, _)| m);
            let mut guard = Reaper(Some(child));
            loop {
                match sync.recv()? {
                    None => break,
                    Some(SyncMsg::SeccompListener) => {
                        let fd = sync.recv_fd()?;
                        let n = notify.as_mut().ok_or_else(|| SyncError::protocol("sync", "a seccomp listener nobody asked for"))?;
                        n.send(fd)?;
                    }
                    Some(SyncMsg::Failed { error, exit_code }) => {
                        guard.reap();
                        return Err(SyncError::Reported(error, exit_code).into());
                    }
                    Some(other) => return Err(SyncError::protocol("sync", format!("unexpected {other:?}")).into()),
                }
            }
            if let Some(c) = control.as_deref_mut() {
                c.send(&FromRuntime::Started { id: id.clone(), pid: child.as_raw() });
            }
            if let Some(f) = &pid_file {
                f.write(child.as_raw())?;
            }
            let master = match (&console_socket, master) {
                (Some((conn, path)), Some(m)) => {
                    console::send_on(conn, path, m.as_fd())?;
                    None
                }
                (_, m) => m,
            };
            if args.detach {
                // The command is its caller's now (reparented to its subreaper when we exit).
                guard.0 = None;
                return Ok(0);
            }
            let mut relay = Relay::new(master, pipes);
            let _raw = relay.master.as_ref().and_then(|_| pty::RawMode::enter());
            let exit = supervise::run(child, &sfd, control.as_deref_mut(), &mut relay)?;
            guard.0 = None;
            if let Some(c) = control {
                c.send(&FromRuntime::Exited { exit_code: exit.code, signal: exit.signal.map(|s| s.as_str().to_string()) });
            }
            Ok(exit.code)
        }
    }
}

/// In the forked child (already inside every namespace): a session of its own (with its pty as
/// terminal, or none), the container's session keyring, the identity and the container's seccomp
/// filter (in the same order as its first process), then the command.
#[allow(clippy::too_many_arguments)]
fn child(
    p: &ProcessPlan,
    slave: Option<OwnedFd>,
    caller_stdio: ChildEnds,
    in_userns: bool,
    filter: Option<&Filter>,
    keyring: Option<&str>,
    preserve_fds: u32,
    sync: &mut SyncSocket,
) -> ContainerError {
    let prepare = |sync: &mut SyncSocket| -> Result<()> {
        stdio::install(caller_stdio, p.terminal)?;
        if let Some(s) = slave {
            pty::attach_slave(s)?;
        }
        if let Some(name) = keyring {
            process::keyring::join(name)?;
        }
        // The process settings of the config apply to every process of the container.
        process::settings::rlimits(p)?;
        if let Some(f) = seccomp::early(filter, p) {
            f.load(sync)?;
        }
        process::settings::before_exec(p, None)?;
        process::set_identity(p, in_userns)?;
        syscalls::pass_fds(preserve_fds);
        Ok(())
    };
    if let Err(e) = prepare(sync) {
        return e;
    }
    let late = seccomp::late(filter, p);
    process::exec(p, || late.map_or(Ok(()), |f| f.load(sync)))
}

/// The container's process settings with exec's overrides (-e, -w, -u, -t).
fn process_for(plan: &Plan, args: &ExecArgs) -> Result<ProcessPlan> {
    let mut p = match &args.process_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| sys("read", path.display())(errno_of(&e)))?;
            let proc: oci_spec::runtime::Process = crate::spec::unmodelled::parse_str(&text, &format!("--process {}", path.display()), "process.")?;
            let mut p = crate::spec::process_plan(&proc)?;
            p.terminal |= args.tty;
            p
        }
        None => plan.process.clone(),
    };
    if args.process_file.is_none() {
        if args.command.is_empty() {
            return Err(SpecError::new("command", "exec needs a command").into());
        }
        p.args.clone_from(&args.command);
        p.terminal = args.tty;
    }
    for kv in &args.env {
        let key = kv.split('=').next().unwrap_or("");
        p.env.retain(|e| e.split('=').next() != Some(key));
        p.env.push(kv.clone());
    }
    if let Some(cwd) = &args.cwd {
        p.cwd.clone_from(cwd);
    }
    if let Some(u) = &args.user {
        let num = |s: &str| s.parse::<u32>().map_err(|_| SpecError::new("user", format!("{u:?} is not UID[:GID] (numeric)")));
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(u)?, num(u)?),
        };
        (p.uid, p.gid) = (uid, gid);
        p.additional_gids.clear();
    }
    Ok(p)
}

fn same_file(a: &str, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.ino() == y.ino() && x.dev() == y.dev(),
        _ => false,
    }
}

/// Kills and reaps the exec'd child if we leave before it has been waited for.
struct Reaper(Option<nix::unistd::Pid>);

impl Reaper {
    fn reap(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        self.reap();
    }
}
