use nix::errno::Errno;
use nsbox_core::WireError;

/// Every failure of the runtime, carrying the step, the path and the errno, so the caller can be
/// told exactly what went wrong (`pivot_root(/r): EINVAL: ...`).
#[derive(Debug, thiserror::Error)]
pub enum RtError {
    #[error("{op}({path}): {}: {msg}", nsbox_core::error::errno_name(*errno))]
    Sys { op: String, path: String, errno: Errno, msg: String },
    #[error("{field}: ERR_INVALID_SPEC: {msg}")]
    Spec { field: String, msg: String },
    #[error("{op}: ERR_PROTOCOL: {msg}")]
    Protocol { op: String, msg: String },
    /// The command could not be exec'd: 127 when not found, 126 when not executable.
    #[error("{op}({path}): {}: {msg}", nsbox_core::error::errno_name(*errno))]
    Exec { op: String, path: String, errno: Errno, msg: String, exit_code: i32 },
    /// Already reported by the process that hit it (the container child); carries its exit code.
    #[error("{0}")]
    Reported(WireError, i32),
    /// A lifecycle rule was broken: `code` is ERR_NO_SUCH_CONTAINER, ERR_NAME_IN_USE, ERR_NOT_RUNNING,
    /// ERR_AMBIGUOUS_ID, ERR_BAD_SIGNAL, ERR_IS_RUNNING or ERR_STATE (corrupt or unreadable state).
    #[error("{op}({path}): {code}: {msg}")]
    Lifecycle { code: &'static str, op: String, path: String, msg: String },
}

pub type Result<T> = std::result::Result<T, RtError>;

impl RtError {
    pub fn sys(op: impl Into<String>, path: impl Into<String>, errno: Errno) -> RtError {
        RtError::Sys { op: op.into(), path: path.into(), errno, msg: errno.desc().into() }
    }

    pub fn sys_msg(op: impl Into<String>, path: impl Into<String>, errno: Errno, msg: impl Into<String>) -> RtError {
        RtError::Sys { op: op.into(), path: path.into(), errno, msg: msg.into() }
    }

    pub fn spec(field: impl Into<String>, msg: impl Into<String>) -> RtError {
        RtError::Spec { field: field.into(), msg: msg.into() }
    }

    pub fn lifecycle(code: &'static str, op: impl Into<String>, path: impl Into<String>, msg: impl Into<String>) -> RtError {
        RtError::Lifecycle { code, op: op.into(), path: path.into(), msg: msg.into() }
    }

    /// An io::Error from std::fs as a Sys error naming the step and the path.
    pub fn io(op: impl Into<String>, path: impl std::fmt::Display, e: &std::io::Error) -> RtError {
        RtError::sys(op, path.to_string(), Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            RtError::Exec { exit_code, .. } | RtError::Reported(_, exit_code) => *exit_code,
            _ => 125,
        }
    }

    pub fn to_wire(&self) -> WireError {
        let path = |p: &String| if p.is_empty() { None } else { Some(p.clone()) };
        match self {
            RtError::Sys { op, path: p, errno, msg } | RtError::Exec { op, path: p, errno, msg, .. } => {
                WireError::from_errno(op.clone(), path(p), *errno, msg.clone())
            }
            RtError::Spec { field, msg } => WireError::invalid_spec(field.clone(), msg.clone()),
            RtError::Protocol { op, msg } => {
                WireError { code: "ERR_PROTOCOL".into(), op: op.clone(), path: None, errno: None, message: msg.clone() }
            }
            RtError::Reported(w, _) => w.clone(),
            RtError::Lifecycle { code, op, path: p, msg } => {
                WireError { code: (*code).into(), op: op.clone(), path: path(p), errno: None, message: msg.clone() }
            }
        }
    }
}

/// `.map_err(sys("mount", "/proc"))` — the usual way a nix call becomes an RtError.
pub fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> RtError {
    let path = path.to_string();
    move |e| RtError::sys(op, path, e)
}
