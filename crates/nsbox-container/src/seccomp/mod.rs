//! The config's `linux.seccomp`, compiled in the runtime parent before clone (through a cache of
//! libseccomp's programs, cache.rs) and loaded in the container's process as the last step before
//! its command, where the kernel applies it to that process and everything it execs.
//!
//! `SCMP_ACT_NOTIFY`: the load returns a listener in the container process, where the agent's
//! `listenerPath` (a host path) is out of reach after pivot_root. The process passes the listener
//! back to the runtime over the sync socket (SCM_RIGHTS, as the pty master), and the runtime, in
//! the host's mount namespace, sends it to the agent with the container's state ([`Notify`]). So
//! the filter must allow the sync socket's sendmsg/write for a notify profile (runc needs the same).

mod cache;

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;
use nsbox_seccomp::filter::{compile, Compiled, FilterError};
use nsbox_seccomp::listener::{self, ListenerError};
use oci_spec::runtime::LinuxSeccomp;

use crate::create::sync::{SyncMsg, SyncSocket};
use crate::error::{rule_wire, sys_wire};
use crate::spec::ProcessPlan;

/// Building, loading or handing over the filter failed.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The config's `linux.seccomp` asks for something no filter can do.
    #[error("{field}: ERR_INVALID_SPEC: {msg}")]
    Invalid { field: String, msg: String },
    #[error("{op}({path}): {}: {msg}", errno_name(*errno))]
    Sys { op: &'static str, path: String, errno: Errno, msg: String },
    /// libseccomp failed without an errno, or the agent's state could not be built.
    #[error("{op}({path}): ERR_RUNTIME: {msg}")]
    Runtime { op: &'static str, path: String, msg: String },
}

impl SeccompError {
    pub fn to_wire(&self) -> WireError {
        match self {
            SeccompError::Invalid { field, msg } => WireError::invalid_spec(field.clone(), msg.clone()),
            SeccompError::Sys { op, path, errno, msg } => sys_wire(op, path, *errno, msg),
            SeccompError::Runtime { op, path, msg } => rule_wire("ERR_RUNTIME", op, path, msg),
        }
    }
}

impl From<FilterError> for SeccompError {
    fn from(e: FilterError) -> Self {
        let msg = e.to_string();
        match e {
            FilterError::Invalid { field, message } => SeccompError::Invalid { field: format!("linux.seccomp.{field}"), msg: message },
            FilterError::Libseccomp { op, path, errno: Some(errno), .. } => SeccompError::Sys { op, path, errno, msg },
            FilterError::Libseccomp { op, path, errno: None, .. } => SeccompError::Runtime { op, path, msg },
            FilterError::Load { errno } => SeccompError::Sys { op: "seccomp_load", path: String::new(), errno, msg },
            FilterError::Sys { op, errno } => SeccompError::Sys { op, path: String::new(), errno, msg },
        }
    }
}

impl From<ListenerError> for SeccompError {
    fn from(e: ListenerError) -> Self {
        match e {
            ListenerError::Sys { op, path, errno } => SeccompError::Sys { op, path, errno, msg: errno.desc().into() },
            ListenerError::State { message } => SeccompError::Runtime { op: "seccomp listener state", path: String::new(), msg: message },
        }
    }
}

type Result<T> = std::result::Result<T, SeccompError>;

/// What the plan keeps of `linux.seccomp`, and what the agent is told about the container.
#[derive(Debug, Clone)]
pub struct SeccompPlan {
    pub config: LinuxSeccomp,
    pub bundle: PathBuf,
    pub annotations: HashMap<String, String>,
}

/// A compiled filter, ready to load in the container's process.
pub struct Filter {
    compiled: Compiled,
}

/// Compiles `plan.config`, or reads the program libseccomp compiled for it before from the cache
/// (cache.rs). Runs in the runtime parent, before clone.
pub fn prepare(plan: &SeccompPlan) -> Result<Filter> {
    let filter = compile_cached(plan)?;
    if filter.compiled.uses_notify() && plan.config.listener_path().is_none() {
        return Err(no_agent());
    }
    Ok(filter)
}

fn compile_cached(plan: &SeccompPlan) -> Result<Filter> {
    let Some(dir) = cache::location().and_then(|base| cache::dir(&base)) else {
        return Ok(Filter { compiled: compile(&plan.config)? });
    };
    let json = serde_json::to_vec(&plan.config).map_err(|e| SeccompError::Invalid { field: "linux.seccomp".into(), msg: e.to_string() })?;
    let key = cache::key(&json);
    if let Some(c) = cache::read(&dir, &key).and_then(|bytes| Compiled::from_program(&plan.config, &bytes).ok()) {
        return Ok(Filter { compiled: c });
    }
    let compiled = compile(&plan.config)?;
    // Best effort: a cache that cannot be written only costs the next start a compile.
    let _ = cache::write(&dir, &key, &compiled.program_bytes());
    Ok(Filter { compiled })
}

impl Filter {
    /// In the container's process: installs the filter, and passes a notify listener to the
    /// runtime over `sync` (see the module doc). One syscall without notify.
    pub(crate) fn load(&self, sync: &mut SyncSocket) -> crate::error::Result<()> {
        if let Some(fd) = self.compiled.load().map_err(SeccompError::from)? {
            sync.send_fd_as(&SyncMsg::SeccompListener, fd.as_fd(), "seccomp listener")?;
        }
        Ok(())
    }
}

/// The filter to load before the process takes on its identity: when no_new_privs is off,
/// loading needs CAP_SYS_ADMIN, which the identity may drop (runc's order). Everything the
/// process does afterwards (capset, setresuid, chdir, execve) must then pass the filter.
pub(crate) fn early<'a>(filter: Option<&'a Filter>, p: &ProcessPlan) -> Option<&'a Filter> {
    filter.filter(|_| !p.no_new_privileges)
}

/// The filter to load last, right before execve: with no_new_privs set by the identity step.
pub(crate) fn late<'a>(filter: Option<&'a Filter>, p: &ProcessPlan) -> Option<&'a Filter> {
    filter.filter(|_| p.no_new_privileges)
}

/// Where a notify listener goes, and the state that goes with it.
pub struct Notify {
    path: PathBuf,
    metadata: Option<String>,
    state: String,
    /// Connected ahead (exec: before entering the container's mount namespace).
    sock: Option<OwnedFd>,
}

impl Notify {
    /// For a config with a `listenerPath`: the agent learns the container `id`, whose process is
    /// `pid`, is `creating` (its command has not been exec'd yet).
    pub fn new(plan: &SeccompPlan, id: &str, pid: i32) -> Option<Notify> {
        let path = PathBuf::from(plan.config.listener_path().as_ref()?);
        let state = serde_json::json!({
            "ociVersion": "1.2.0",
            "id": id,
            "status": "creating",
            "pid": pid,
            "bundle": plan.bundle,
            "annotations": plan.annotations,
        });
        Some(Notify { path, metadata: plan.config.listener_metadata().clone(), state: state.to_string(), sock: None })
    }

    /// Connects now, while the path is reachable.
    pub fn connect(mut self) -> Result<Notify> {
        self.sock = Some(listener::connect(&self.path)?);
        Ok(self)
    }

    /// Sends the listener the container's process passed back.
    pub fn send(&mut self, fd: OwnedFd) -> Result<()> {
        let sock = match self.sock.take() {
            Some(s) => s,
            None => listener::connect(&self.path)?,
        };
        listener::send_on(sock, &self.path, fd.as_fd(), self.metadata.as_deref(), &self.state)?;
        Ok(())
    }
}

/// A notify rule without an agent: refused rather than leave the notifying syscalls waiting
/// forever (runc refuses it too).
fn no_agent() -> SeccompError {
    SeccompError::Invalid {
        field: "linux.seccomp.listenerPath".into(),
        msg: "SCMP_ACT_NOTIFY needs a listenerPath (the agent that answers the notifications)".into(),
    }
}
