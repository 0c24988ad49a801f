use nix::errno::Errno;
use serde::{Deserialize, Serialize};

/// The structured error every layer passes on: the runtime writes it on its control socket, the
/// addon throws it, the TS layer turns `code` into an error class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireError {
    /// errno name (`EPERM`) or one of `ERR_INVALID_SPEC`, `ERR_RUNTIME`, `ERR_PROTOCOL`.
    pub code: String,
    /// The step that failed: `pivot_root`, `mount`, `write uid_map`, a field name for spec errors.
    pub op: String,
    pub path: Option<String>,
    pub errno: Option<i32>,
    pub message: String,
}

impl WireError {
    pub fn from_errno(op: impl Into<String>, path: Option<String>, errno: Errno, message: impl Into<String>) -> Self {
        let message = message.into();
        WireError {
            code: errno_name(errno),
            op: op.into(),
            path,
            errno: Some(errno as i32),
            message: if message.is_empty() { errno.desc().to_string() } else { message },
        }
    }

    pub fn invalid_spec(field: impl Into<String>, message: impl Into<String>) -> Self {
        WireError { code: "ERR_INVALID_SPEC".into(), op: field.into(), path: None, errno: None, message: message.into() }
    }

    pub fn runtime(op: impl Into<String>, path: Option<String>, message: impl Into<String>) -> Self {
        WireError { code: "ERR_RUNTIME".into(), op: op.into(), path, errno: None, message: message.into() }
    }
}

impl std::fmt::Display for WireError {
    /// `op(path): CODE: message`, the one format humans see everywhere.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}({}): {}: {}", self.op, p, self.code, self.message),
            None => write!(f, "{}: {}: {}", self.op, self.code, self.message),
        }
    }
}

impl std::error::Error for WireError {}

/// `ENOENT` rather than nix's `ENOENT: No such file or directory`.
pub fn errno_name(errno: Errno) -> String {
    format!("{errno:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_step_path_and_errno() {
        let e = WireError::from_errno("pivot_root", Some("/r".into()), Errno::EINVAL, "rootfs is not a mount point");
        assert_eq!(e.to_string(), "pivot_root(/r): EINVAL: rootfs is not a mount point");
        assert_eq!(e.errno, Some(22));
    }

    #[test]
    fn empty_message_falls_back_to_errno_text() {
        let e = WireError::from_errno("open", None, Errno::ENOENT, "");
        assert_eq!(e.code, "ENOENT");
        assert_eq!(e.message, "No such file or directory");
    }
}
