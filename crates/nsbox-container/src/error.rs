//! The container's errors. Each module that fails in its own way has its own enum, whose variants
//! carry the step, the path and the errno (`pivot_root(/r): EINVAL: ...`); [`ContainerError`] wraps
//! them all so `?` crosses modules, and alone decides the exit code and the wire form callers see
//! (nsbox-monitor's `MonitorError` wraps it in turn, with the monitor's own errors).

use nix::errno::Errno;
use nsbox_core::WireError;

use nsbox_cgroups::CgroupError;

use crate::create::child::ChildError;
use crate::create::fifo::FifoError;
use crate::create::hooks::HookError;
use crate::process::console::ConsoleError;
use crate::create::idmaps::IdMapError;
use crate::create::sync::SyncError;
use crate::create::RunError;
use crate::create::userns_parent::UsernsParentError;
use crate::ops::{ExecError, FreezeError, InfoError, OciError, OpsError, UpdateError};
use crate::process::pty::PtyError;
use crate::process::signals::SignalError;
use crate::process::stdio::StdioError;
use crate::process::ProcessError;
use crate::rootfs::devices::DeviceError;
use crate::rootfs::masks::MaskError;
use crate::rootfs::RootfsError;
use crate::seccomp::SeccompError;
use crate::spec::SpecError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Child(#[from] ChildError),
    #[error(transparent)]
    Console(#[from] ConsoleError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Fifo(#[from] FifoError),
    #[error(transparent)]
    Freeze(#[from] FreezeError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    IdMap(#[from] IdMapError),
    #[error(transparent)]
    Info(#[from] InfoError),
    #[error(transparent)]
    Mask(#[from] MaskError),
    #[error(transparent)]
    Oci(#[from] OciError),
    #[error(transparent)]
    Ops(#[from] OpsError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Pty(#[from] PtyError),
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error(transparent)]
    Signal(#[from] SignalError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Stdio(#[from] StdioError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error(transparent)]
    UsernsParent(#[from] UsernsParentError),
}

pub type Result<T> = std::result::Result<T, ContainerError>;

impl ContainerError {
    /// 125 for the runtime's own failures; the command's exec failure (126/127) and a code the
    /// container child reported are passed on as they are.
    pub fn exit_code(&self) -> i32 {
        match self {
            ContainerError::Process(e) => e.exit_code(),
            ContainerError::Sync(e) => e.exit_code(),
            _ => 125,
        }
    }

    pub fn to_wire(&self) -> WireError {
        match self {
            ContainerError::Cgroup(e) => e.to_wire(),
            ContainerError::Child(e) => e.to_wire(),
            ContainerError::Console(e) => e.to_wire(),
            ContainerError::Device(e) => e.to_wire(),
            ContainerError::Fifo(e) => e.to_wire(),
            ContainerError::Hook(e) => e.to_wire(),
            ContainerError::Exec(e) => e.to_wire(),
            ContainerError::IdMap(e) => e.to_wire(),
            ContainerError::Info(e) => e.to_wire(),
            ContainerError::Mask(e) => e.to_wire(),
            ContainerError::Oci(e) => e.to_wire(),
            ContainerError::Ops(e) => e.to_wire(),
            ContainerError::Freeze(e) => e.to_wire(),
            ContainerError::Process(e) => e.to_wire(),
            ContainerError::Pty(e) => e.to_wire(),
            ContainerError::Rootfs(e) => e.to_wire(),
            ContainerError::Run(e) => e.to_wire(),
            ContainerError::Seccomp(e) => e.to_wire(),
            ContainerError::Signal(e) => e.to_wire(),
            ContainerError::Spec(e) => e.to_wire(),
            ContainerError::Stdio(e) => e.to_wire(),
            ContainerError::State(e) => e.to_wire(),
            ContainerError::Sync(e) => e.to_wire(),
            ContainerError::Update(e) => e.to_wire(),
            ContainerError::UsernsParent(e) => e.to_wire(),
        }
    }
}

/// A failed call on the wire: the errno's name is the code, and an empty path is left out.
pub fn sys_wire(op: &str, path: &str, errno: Errno, msg: &str) -> WireError {
    WireError::from_errno(op, non_empty(path), errno, msg)
}

/// A broken rule of the runtime (no such container, not running, ...): `code` says which.
pub fn rule_wire(code: &str, op: &str, path: &str, msg: &str) -> WireError {
    WireError { code: code.into(), op: op.into(), path: non_empty(path), errno: None, message: msg.into() }
}

fn non_empty(path: &str) -> Option<String> {
    (!path.is_empty()).then(|| path.to_string())
}

/// std::fs reports an io::Error; EIO stands in for the rare one that carries no errno.
pub fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// The texts, wire fields and exit codes below are what callers (and the TS tests) match on: they
/// are the ones nsbox-runtime's single error enum produced before the crates were split, and must
/// not drift.
#[cfg(test)]
mod tests {
    use super::*;

    fn wire(code: &str, op: &str, path: Option<&str>, errno: Option<i32>, message: &str) -> WireError {
        WireError { code: code.into(), op: op.into(), path: path.map(String::from), errno, message: message.into() }
    }

    fn check(e: impl Into<ContainerError>, display: &str, expected: WireError, exit_code: i32) {
        let e = e.into();
        assert_eq!(e.to_string(), display);
        assert_eq!(e.to_wire(), expected);
        assert_eq!(e.exit_code(), exit_code);
    }

    #[test]
    fn sys_errors_name_step_path_and_errno() {
        let why = "rootfs is not a mount point or its parent mount is shared";
        check(
            RootfsError::Explained { op: "pivot_root", path: "/x".into(), errno: Errno::EINVAL, why: why.into() },
            &format!("pivot_root(/x): EINVAL: {why}"),
            wire("EINVAL", "pivot_root", Some("/x"), Some(22), why),
            125,
        );
        check(
            RootfsError::Sys { op: "mount staging tmpfs", path: "/tmp".into(), errno: Errno::EPERM },
            "mount staging tmpfs(/tmp): EPERM: Operation not permitted",
            wire("EPERM", "mount staging tmpfs", Some("/tmp"), Some(1), "Operation not permitted"),
            125,
        );
        // An empty path shows as `()` in the text and is left out on the wire.
        check(
            crate::process::signals::sys("poll")(Errno::EBADF),
            "poll(): EBADF: Bad file number",
            wire("EBADF", "poll", None, Some(9), "Bad file number"),
            125,
        );
        check(
            ProcessError::Caps { op: "capset effective", detail: "no".into() },
            "capset effective(): EPERM: no",
            wire("EPERM", "capset effective", None, Some(1), "no"),
            125,
        );
        check(
            IdMapError::Write { file: "uid_map".into(), path: "/proc/7/uid_map".into(), errno: Errno::EINVAL, msg: "m".into() },
            "write uid_map(/proc/7/uid_map): EINVAL: m",
            wire("EINVAL", "write uid_map", Some("/proc/7/uid_map"), Some(22), "m"),
            125,
        );
        check(
            IdMapError::Spawn { helper: "newuidmap", errno: Errno::ENOENT, detail: "d".into() },
            "newuidmap(newuidmap): ENOENT: cannot run newuidmap (install uidmap): d",
            wire("ENOENT", "newuidmap", Some("newuidmap"), Some(2), "cannot run newuidmap (install uidmap): d"),
            125,
        );
        check(
            IdMapError::Refused { helper: "newgidmap", path: "/proc/7/gid_map".into(), msg: "newgidmap exited with 1: no".into() },
            "newgidmap(/proc/7/gid_map): EPERM: newgidmap exited with 1: no",
            wire("EPERM", "newgidmap", Some("/proc/7/gid_map"), Some(1), "newgidmap exited with 1: no"),
            125,
        );
    }

    #[test]
    fn exec_failures_exit_126_or_127() {
        let msg = "executable file \"nope\" not found in $PATH";
        check(
            ProcessError::Exec { path: "nope".into(), errno: Errno::ENOENT, msg: msg.into(), exit_code: 127 },
            &format!("execve(nope): ENOENT: {msg}"),
            wire("ENOENT", "execve", Some("nope"), Some(2), msg),
            127,
        );
        check(
            ProcessError::Exec { path: "/etc".into(), errno: Errno::EISDIR, msg: "/etc: is a directory".into(), exit_code: 126 },
            "execve(/etc): EISDIR: /etc: is a directory",
            wire("EISDIR", "execve", Some("/etc"), Some(21), "/etc: is a directory"),
            126,
        );
    }

    #[test]
    fn spec_and_protocol_errors() {
        check(
            SpecError::new("mounts[0].destination", "\"x\" is not absolute"),
            "mounts[0].destination: ERR_INVALID_SPEC: \"x\" is not absolute",
            wire("ERR_INVALID_SPEC", "mounts[0].destination", None, None, "\"x\" is not absolute"),
            125,
        );
        check(
            StateError::from(SpecError::new("name", "bad")),
            "name: ERR_INVALID_SPEC: bad",
            wire("ERR_INVALID_SPEC", "name", None, None, "bad"),
            125,
        );
        check(
            SyncError::protocol("sync", "created twice"),
            "sync: ERR_PROTOCOL: created twice",
            wire("ERR_PROTOCOL", "sync", None, None, "created twice"),
            125,
        );
    }

    #[test]
    fn lifecycle_errors_carry_their_code() {
        check(
            StateError::Rule { code: "ERR_NO_SUCH_CONTAINER", op: "find container", path: String::new(), msg: "no such container: c".into() },
            "find container(): ERR_NO_SUCH_CONTAINER: no such container: c",
            wire("ERR_NO_SUCH_CONTAINER", "find container", None, None, "no such container: c"),
            125,
        );
        check(
            StateError::Rule { code: "ERR_STATE", op: "parse state", path: "/r/c/state.json".into(), msg: "eof".into() },
            "parse state(/r/c/state.json): ERR_STATE: eof",
            wire("ERR_STATE", "parse state", Some("/r/c/state.json"), None, "eof"),
            125,
        );
        check(
            OpsError::NotRunning { name: "web".into() },
            "kill(): ERR_NOT_RUNNING: container web is not running",
            wire("ERR_NOT_RUNNING", "kill", None, None, "container web is not running"),
            125,
        );
        check(
            OpsError::BadSignal { text: "NOPE".into() },
            "parse signal(): ERR_BAD_SIGNAL: invalid signal: NOPE",
            wire("ERR_BAD_SIGNAL", "parse signal", None, None, "invalid signal: NOPE"),
            125,
        );
        check(
            OpsError::IsRunning { name: "web".into(), status: "running".into() },
            "delete(): ERR_IS_RUNNING: container web is running: stop it first or use --force",
            wire("ERR_IS_RUNNING", "delete", None, None, "container web is running: stop it first or use --force"),
            125,
        );
        check(
            OpsError::Delete { id: "c1".into(), errors: vec!["a".into(), "b".into()] },
            "delete(c1): ERR_RUNTIME: a; b",
            wire("ERR_RUNTIME", "delete", Some("c1"), None, "a; b"),
            125,
        );
        check(
            ExecError::NotRunning { name: "web".into(), status: "created".into() },
            "exec(): ERR_NOT_RUNNING: container web is not running (created)",
            wire("ERR_NOT_RUNNING", "exec", None, None, "container web is not running (created)"),
            125,
        );
    }

    #[test]
    fn reported_errors_pass_through_with_the_childs_exit_code() {
        let w = wire("ENOENT", "execve", Some("nope"), Some(2), "gone");
        check(SyncError::Reported(w.clone(), 127), "execve(nope): ENOENT: gone", w, 127);
    }
}
