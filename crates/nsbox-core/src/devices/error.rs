//! The error of the pure device-rule code: a malformed option or spec field (docker's own wording,
//! because that text is what users paste into searches), or the stat() of a `--device` host node.
//! The kernel writers (v1 files, the BPF program) have their own error in nsbox-cgroups.

use nix::errno::Errno;

use crate::error::errno_name;
use crate::WireError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceRuleError {
    /// stat() of a host node failed.
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },

    /// An option or spec field is malformed. `op` names the option or field (`--device`,
    /// `linux.resources.devices[2].access`); the message alone is docker's text.
    #[error("{message}")]
    Invalid { op: String, message: String },
}

impl DeviceRuleError {
    pub fn to_wire(&self) -> WireError {
        match self {
            DeviceRuleError::Sys { op, path, errno } => WireError::from_errno(*op, Some(path.clone()), *errno, errno.desc()),
            DeviceRuleError::Invalid { op, message } => WireError::invalid_spec(op.clone(), message.clone()),
        }
    }

    pub fn invalid(op: impl Into<String>, message: impl Into<String>) -> DeviceRuleError {
        DeviceRuleError::Invalid { op: op.into(), message: message.into() }
    }
}

/// `map_err(sys("stat", path))`: keeps call sites to one line while still naming step and path.
pub(crate) fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> DeviceRuleError {
    let path = path.to_string();
    move |errno| DeviceRuleError::Sys { op, path, errno }
}

pub type Result<T> = std::result::Result<T, DeviceRuleError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_error_names_step_path_and_errno() {
        let e = sys("stat", "/dev/nope")(Errno::ENOENT);
        assert_eq!(e.to_string(), "stat(/dev/nope): ENOENT: No such file or directory");
        let w = e.to_wire();
        assert_eq!((w.code.as_str(), w.op.as_str(), w.errno, w.path.as_deref()), ("ENOENT", "stat", Some(2), Some("/dev/nope")));
    }

    #[test]
    fn invalid_keeps_docker_text_and_becomes_a_spec_error() {
        let e = DeviceRuleError::invalid("--device", "invalid device mode: x");
        assert_eq!(e.to_string(), "invalid device mode: x");
        let w = e.to_wire();
        assert_eq!((w.code.as_str(), w.op.as_str(), w.message.as_str()), ("ERR_INVALID_SPEC", "--device", "invalid device mode: x"));
    }
}
