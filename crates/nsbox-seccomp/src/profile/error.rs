//! What can be wrong with a profile, or with resolving it for a container. Every variant names the
//! field (a JSON path such as `syscalls[3].args[0].op`) or the step, and the errno if there is one.

use nix::errno::Errno;
use crate::errno_name;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Not JSON at all; serde_json's message carries the line and column.
    #[error("seccomp profile: {message}")]
    Json { message: String },
    /// A field with a wrong type, an unknown name or value, or a rule that cannot hold.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A call made while resolving (reading the kernel version) failed.
    #[error("{op}: {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, errno: Errno },
}

impl ProfileError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ProfileError::Invalid { field: field.into(), message: message.into() }
    }

    /// The field the error is about (`syscalls[3].action`), if it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ProfileError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
