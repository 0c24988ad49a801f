//! Errors of building and loading a filter: the step, the field or syscall it is about, and the
//! errno libseccomp or the kernel gave.

use nix::errno::Errno;
use crate::errno_name;

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// The OCI config asks for something a filter cannot do (`syscalls[2].errnoRet: ...`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A libseccomp call failed: `seccomp_rule_add(syscalls[4] clone): EINVAL: ...`.
    #[error("{op}({path}): {}: {message}", code(errno))]
    Libseccomp { op: &'static str, path: String, errno: Option<Errno>, message: String },
    /// The kernel refused the filter. EACCES: the caller has neither no_new_privs nor CAP_SYS_ADMIN.
    #[error("seccomp_load: {}: {}{}", errno_name(*errno), errno.desc(), load_hint(*errno))]
    Load { errno: Errno },
    /// Another call on the way failed (memfd_create for the exported program, ...).
    #[error("{op}: {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, errno: Errno },
}

fn code(errno: &Option<Errno>) -> String {
    errno.map(errno_name).unwrap_or_else(|| "ERR_LIBSECCOMP".into())
}

fn load_hint(errno: Errno) -> &'static str {
    if errno == Errno::EACCES {
        " (set no_new_privs first, or load while still holding CAP_SYS_ADMIN)"
    } else {
        ""
    }
}

impl FilterError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        FilterError::Invalid { field: field.into(), message: message.into() }
    }

    /// A libseccomp failure, keeping the errno it reports (it returns -errno; with
    /// `SCMP_FLTATR_API_SYSRAWRC` set, the kernel's own).
    pub(crate) fn lib(op: &'static str, path: impl Into<String>, e: libseccomp::error::SeccompError) -> Self {
        FilterError::Libseccomp {
            op,
            path: path.into(),
            errno: e.sysrawrc().map(|rc| Errno::from_raw(-rc)),
            message: e.to_string(),
        }
    }

    pub fn errno(&self) -> Option<Errno> {
        match self {
            FilterError::Invalid { .. } => None,
            FilterError::Libseccomp { errno, .. } => *errno,
            FilterError::Load { errno } | FilterError::Sys { errno, .. } => Some(*errno),
        }
    }
}
