//! The container process's identity (groups, uid/gid, capabilities, no_new_privs, cwd) and the
//! exec of the command, with docker's exit codes for exec failures (127 not found, 126 not
//! executable).

use std::ffi::CString;
use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use nix::errno::Errno;
use nix::unistd::{access, execve, setgroups, setresgid, setresuid, AccessFlags, Gid, Uid};

use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::{errno_of, sys_wire, ContainerError};
use crate::spec::{ProcessPlan, SpecError};

pub mod console;
pub(crate) mod init;
pub(crate) mod keyring;
pub mod pty;
pub(crate) mod settings;
pub mod signals;
pub mod stdio;
pub(crate) mod supervise;

/// The container process could not take on its identity or exec its command (init.rs's own
/// start-up failures are here too: it is the container's first process).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{op}({path}): {}: {msg}", errno_name(*errno))]
    Sys { op: &'static str, path: String, errno: Errno, msg: String },
    /// The caps crate's error carries no errno; refusals to change capabilities are EPERM.
    #[error("{op}(): EPERM: {detail}")]
    Caps { op: &'static str, detail: String },
    /// docker's exit codes: 127 when the command is not found, 126 when it cannot be executed.
    #[error("execve({path}): {}: {msg}", errno_name(*errno))]
    Exec { path: String, errno: Errno, msg: String, exit_code: i32 },
}

impl ProcessError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ProcessError::Exec { exit_code, .. } => *exit_code,
            _ => 125,
        }
    }

    pub fn to_wire(&self) -> WireError {
        match self {
            ProcessError::Sys { op, path, errno, msg } => sys_wire(op, path, *errno, msg),
            ProcessError::Caps { op, detail } => sys_wire(op, "", Errno::EPERM, detail),
            ProcessError::Exec { path, errno, msg, .. } => sys_wire("execve", path, *errno, msg),
        }
    }
}

type Result<T> = std::result::Result<T, ProcessError>;

pub(crate) fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> ProcessError {
    let path = path.to_string();
    move |errno| ProcessError::Sys { op, path, errno, msg: errno.desc().into() }
}

fn cap_set(names: &[String]) -> CapsHashSet {
    names.iter().filter_map(|n| Capability::from_str(n).ok()).collect()
}

fn caps_err(op: &'static str) -> impl FnOnce(caps::errors::CapsError) -> ProcessError {
    move |e| ProcessError::Caps { op, detail: e.to_string() }
}

/// Every capability the config asks for must be one this process holds (and may keep): one it
/// cannot grant (CAP_SYS_RESOURCE on a host that withholds it) is refused, naming it, as runc and
/// crun refuse it, rather than left out. Inside a user namespace of the container's own every
/// capability is held.
pub(crate) fn check_caps(p: &ProcessPlan) -> Result<CapsHashSet> {
    let held = caps::read(None, CapSet::Permitted).map_err(caps_err("capget"))?;
    let bounding = caps::read(None, CapSet::Bounding).map_err(caps_err("capget"))?;
    // Probed once (one prctl per capability the crate knows), not once per name: a config lists
    // each capability in up to five sets.
    let supported = caps::runtime::thread_all_supported();
    for name in p.all_caps() {
        let known = Capability::from_str(name).ok().filter(|c| supported.contains(c));
        let Some(cap) = known else {
            return Err(ProcessError::Sys { op: "capabilities", path: name.clone(), errno: Errno::EINVAL, msg: format!("{name} is not a capability this kernel knows") });
        };
        if !held.contains(&cap) || !bounding.contains(&cap) {
            return Err(ProcessError::Sys {
                op: "capabilities",
                path: name.clone(),
                errno: Errno::EPERM,
                msg: format!("{name} cannot be granted: the runtime does not hold it (it is not in the runtime's bounding set); remove it from process.capabilities"),
            });
        }
    }
    Ok(held)
}

fn setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

pub(crate) fn set_identity(p: &ProcessPlan, in_userns: bool) -> Result<()> {
    let held = check_caps(p)?;
    let bounding = cap_set(&p.bounding);
    for cap in caps::runtime::thread_all_supported() {
        if !bounding.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap).map_err(caps_err("drop bounding capability"))?;
        }
    }
    // Keep the permitted set across the uid change; we trim it to the spec right after.
    nix::sys::prctl::set_keepcaps(true).map_err(sys("prctl PR_SET_KEEPCAPS", ""))?;
    let groups: Vec<Gid> = p.additional_gids.iter().map(|g| Gid::from_raw(*g)).collect();
    match setgroups(&groups) {
        Ok(()) => {}
        // setgroups is denied in an unprivileged user namespace (ours, or a rootless engine's that
        // runs us: podman without subuid ranges); with nothing to set that is fine.
        Err(Errno::EPERM) if (in_userns || setgroups_denied()) && groups.iter().all(|g| g.as_raw() == p.gid) => {}
        Err(Errno::EPERM) if setgroups_denied() => {
            return Err(ProcessError::Sys {
                op: "setgroups",
                path: "/proc/self/setgroups".into(),
                errno: Errno::EPERM,
                msg: format!("additionalGids {:?}: this user namespace denies setgroups (its setgroups file says deny)", p.additional_gids),
            })
        }
        Err(e) => return Err(sys("setgroups", "")(e)),
    }
    let gid = Gid::from_raw(p.gid);
    setresgid(gid, gid, gid).map_err(|errno| ProcessError::Sys { op: "setresgid", path: String::new(), errno, msg: format!("gid {}: {}", p.gid, errno.desc()) })?;
    let uid = Uid::from_raw(p.uid);
    setresuid(uid, uid, uid).map_err(|errno| ProcessError::Sys { op: "setresuid", path: String::new(), errno, msg: format!("uid {}: {}", p.uid, errno.desc()) })?;
    let only_held = |names: &[String]| -> CapsHashSet { cap_set(names).intersection(&held).cloned().collect() };
    // Effective and inheritable shrink first: the kernel refuses a permitted set smaller than them.
    let permitted = only_held(&p.permitted);
    let within = |names: &[String]| -> CapsHashSet { only_held(names).intersection(&permitted).cloned().collect() };
    caps::set(None, CapSet::Effective, &within(&p.effective)).map_err(caps_err("capset effective"))?;
    caps::set(None, CapSet::Inheritable, &within(&p.inheritable)).map_err(caps_err("capset inheritable"))?;
    caps::set(None, CapSet::Permitted, &permitted).map_err(caps_err("capset permitted"))?;
    // The kernel only lets a capability be ambient when it is permitted and inheritable; like crun,
    // ask for no more than that rather than fail on a config that lists more.
    let inheritable = caps::read(None, CapSet::Inheritable).map_err(caps_err("capget"))?;
    for cap in within(&p.ambient).intersection(&inheritable).cloned().collect::<CapsHashSet>() {
        caps::raise(None, CapSet::Ambient, cap).map_err(caps_err("raise ambient capability"))?;
    }
    if p.no_new_privileges {
        nix::sys::prctl::set_no_new_privs().map_err(sys("prctl PR_SET_NO_NEW_PRIVS", ""))?;
    }
    std::env::set_current_dir(&p.cwd).map_err(|e| sys("chdir", &p.cwd)(errno_of(&e)))
}

/// Replaces this process with the command; returns only the error when it could not. `last` runs
/// right before execve, after the command was found (the seccomp filter goes there, so that
/// nothing of ours runs under it but execve itself).
pub(crate) fn exec(p: &ProcessPlan, last: impl FnOnce() -> crate::error::Result<()>) -> ContainerError {
    let cmd = &p.args[0];
    let path_var = p.env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or("/usr/local/bin:/usr/bin:/bin");
    let resolved = match resolve(cmd, path_var) {
        Ok(r) => r,
        Err(e) => return exec_error(cmd, e).into(),
    };
    let to_c = |v: &[String]| -> std::result::Result<Vec<CString>, Errno> {
        v.iter().map(|s| CString::new(s.as_str()).map_err(|_| Errno::EINVAL)).collect()
    };
    let (args, env) = match (to_c(&p.args), to_c(&p.env)) {
        (Ok(a), Ok(e)) => (a, e),
        _ => return SpecError::new("process.args", "arguments and environment must not contain NUL bytes").into(),
    };
    signals::restore_defaults();
    if let Err(e) = last() {
        return e;
    }
    match execve(&resolved, &args, &env) {
        Err(e) => exec_error(cmd, e).into(),
        Ok(never) => match never {},
    }
}

/// PATH lookup as execvp does it, but with the container's PATH, not the runtime's.
fn resolve(cmd: &str, path_var: &str) -> std::result::Result<CString, Errno> {
    let c = |s: &str| CString::new(s).map_err(|_| Errno::EINVAL);
    if cmd.contains('/') {
        return c(cmd);
    }
    let mut saw_eacces = false;
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = format!("{dir}/{cmd}");
        match access(candidate.as_str(), AccessFlags::X_OK) {
            Ok(()) if std::fs::metadata(&candidate).map(|m| m.is_file()).unwrap_or(false) => return c(&candidate),
            Ok(()) | Err(Errno::EACCES) => saw_eacces |= std::fs::metadata(&candidate).is_ok(),
            Err(_) => {}
        }
    }
    Err(if saw_eacces { Errno::EACCES } else { Errno::ENOENT })
}

fn exec_error(cmd: &str, e: Errno) -> ProcessError {
    let (exit_code, msg) = match e {
        Errno::ENOENT if !cmd.contains('/') => (127, format!("executable file {cmd:?} not found in $PATH")),
        Errno::ENOENT => (127, format!("{cmd}: no such file or directory")),
        Errno::EACCES | Errno::EPERM => (126, format!("{cmd}: permission denied")),
        Errno::EISDIR => (126, format!("{cmd}: is a directory")),
        Errno::ENOEXEC => (126, format!("{cmd}: exec format error")),
        _ => (126, format!("{cmd}: {}", e.desc())),
    };
    ProcessError::Exec { path: cmd.to_string(), errno: e, msg, exit_code }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_errors_use_dockers_exit_codes_and_texts() {
        let e = exec_error("nope", Errno::ENOENT);
        assert_eq!((e.exit_code(), e.to_string()), (127, "execve(nope): ENOENT: executable file \"nope\" not found in $PATH".into()));
        let e = exec_error("/x", Errno::ENOENT);
        assert_eq!((e.exit_code(), e.to_string()), (127, "execve(/x): ENOENT: /x: no such file or directory".into()));
        let e = exec_error("/x", Errno::EACCES);
        assert_eq!((e.exit_code(), e.to_string()), (126, "execve(/x): EACCES: /x: permission denied".into()));
        let e = exec_error("/x", Errno::ENOEXEC);
        assert_eq!((e.exit_code(), e.to_string()), (126, "execve(/x): ENOEXEC: /x: exec format error".into()));
    }
}
