//! The monitor's errors: [`MonitorError`] is nsbox-container's `ContainerError` plus the failures
//! of starting the monitor (detach.rs), of `start` (created.rs) and of `attach` (attach.rs). Like
//! `ContainerError` it alone decides the exit code and the wire form callers see.

use nsbox_container::create::sync::SyncError;
use nsbox_container::process::signals::SignalError;
use nsbox_container::spec::SpecError;
use nsbox_container::state::StateError;
use nsbox_container::ContainerError;
use nsbox_core::WireError;

use crate::attach::AttachError;
use crate::created::CreatedError;
use crate::detach::DetachError;
use crate::diewith::DieWithError;

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error(transparent)]
    Created(#[from] CreatedError),
    #[error(transparent)]
    Detach(#[from] DetachError),
    #[error(transparent)]
    DieWith(#[from] DieWithError),
}

pub type Result<T> = std::result::Result<T, MonitorError>;

/// The container's own errors that the monitor's code meets directly, so `?` takes them as it
/// takes a `ContainerError`.
macro_rules! from_container {
    ($($t:ty),*) => {$(
        impl From<$t> for MonitorError {
            fn from(e: $t) -> MonitorError {
                MonitorError::Container(e.into())
            }
        }
    )*};
}

from_container!(SignalError, SpecError, StateError, SyncError);

impl MonitorError {
    /// As `ContainerError::exit_code`: 125 but for the command's and the child's own codes.
    pub fn exit_code(&self) -> i32 {
        match self {
            MonitorError::Container(e) => e.exit_code(),
            _ => 125,
        }
    }

    pub fn to_wire(&self) -> WireError {
        match self {
            MonitorError::Container(e) => e.to_wire(),
            MonitorError::Attach(e) => e.to_wire(),
            MonitorError::Created(e) => e.to_wire(),
            MonitorError::Detach(e) => e.to_wire(),
            MonitorError::DieWith(e) => e.to_wire(),
        }
    }
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

    fn check(e: impl Into<MonitorError>, display: &str, expected: WireError, exit_code: i32) {
        let e = e.into();
        assert_eq!(e.to_string(), display);
        assert_eq!(e.to_wire(), expected);
        assert_eq!(e.exit_code(), exit_code);
    }

    #[test]
    fn lifecycle_errors_carry_their_code() {
        check(
            AttachError::NotRunning { name: "web".into(), status: "exited".into() },
            "attach(): ERR_NOT_RUNNING: container web is not running (exited)",
            wire("ERR_NOT_RUNNING", "attach", None, None, "container web is not running (exited)"),
            125,
        );
        check(
            CreatedError::NotCreated { name: "web".into(), status: "running".into() },
            "start(): ERR_NOT_CREATED: container web is running: only a created container can be started",
            wire("ERR_NOT_CREATED", "start", None, None, "container web is running: only a created container can be started"),
            125,
        );
        check(
            AttachError::MonitorClosed { path: "/r/c/attach.sock".into() },
            "attach(/r/c/attach.sock): ERR_RUNTIME: the container's monitor closed the connection",
            wire("ERR_RUNTIME", "attach", Some("/r/c/attach.sock"), None, "the container's monitor closed the connection"),
            125,
        );
        check(
            CreatedError::MonitorClosed { path: "/r/c/attach.sock".into() },
            "start(/r/c/attach.sock): ERR_RUNTIME: the container's monitor closed the connection before answering",
            wire("ERR_RUNTIME", "start", Some("/r/c/attach.sock"), None, "the container's monitor closed the connection before answering"),
            125,
        );
        check(
            DetachError::MonitorDied { id: "c1".into() },
            "start monitor(c1): ERR_RUNTIME: the monitor died before reporting whether the container started",
            wire("ERR_RUNTIME", "start monitor", Some("c1"), None, "the monitor died before reporting whether the container started"),
            125,
        );
    }

    #[test]
    fn container_errors_pass_through_with_the_childs_exit_code() {
        let w = wire("ENOENT", "execve", Some("nope"), Some(2), "gone");
        check(SyncError::Reported(w.clone(), 127), "execve(nope): ENOENT: gone", w, 127);
    }
}
