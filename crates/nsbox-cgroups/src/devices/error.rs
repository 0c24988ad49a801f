//! The error of the kernel writers: a failure names the step, the file and the errno
//! (`write devices.allow(/sys/fs/cgroup/devices/x/devices.allow): EPERM: ...`). Malformed rules are
//! `nsbox_core::devices::DeviceRuleError`, raised before anything here runs.

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceCgroupError {
    /// A syscall or a cgroup file write failed.
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },

    /// The kernel accepted every write but `devices.list` does not say what we asked for.
    #[error("{op}({path}): devices.list is {found:?}, expected {expected:?}")]
    Mismatch { op: &'static str, path: String, expected: String, found: String },

    /// The verifier rejected the generated program; `log` is its explanation (possibly cut short).
    #[error("{op}({path}): {}: {}; verifier log: {log}", errno_name(*errno), errno.desc())]
    BpfLoad { op: &'static str, path: String, errno: Errno, log: String },

    /// The rule list compiles to a program whose jumps do not fit eBPF's 16-bit offsets.
    #[error("{op}: {rules} device rules make a program too large for 16-bit jump offsets")]
    TooLarge { op: &'static str, rules: usize },
}

impl DeviceCgroupError {
    pub fn to_wire(&self) -> WireError {
        match self {
            DeviceCgroupError::Sys { op, path, errno } => WireError::from_errno(*op, non_empty(path), *errno, errno.desc()),
            DeviceCgroupError::Mismatch { op, path, .. } => WireError::runtime(*op, non_empty(path), self.to_string()),
            DeviceCgroupError::BpfLoad { op, path, errno, log } => {
                WireError::from_errno(*op, non_empty(path), *errno, format!("{}; verifier log: {log}", errno.desc()))
            }
            DeviceCgroupError::TooLarge { op, .. } => WireError::invalid_spec(*op, self.to_string()),
        }
    }

    pub(crate) fn io(op: &'static str, path: &std::path::Path, e: &std::io::Error) -> DeviceCgroupError {
        // EIO stands in for the rare io::Error that carries no errno.
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        DeviceCgroupError::Sys { op, path: path.display().to_string(), errno }
    }
}

/// `map_err(sys("open", path))`: keeps call sites to one line while still naming step and path.
pub(crate) fn sys(op: &'static str, path: impl std::fmt::Display) -> impl FnOnce(Errno) -> DeviceCgroupError {
    let path = path.to_string();
    move |errno| DeviceCgroupError::Sys { op, path, errno }
}

fn non_empty(path: &str) -> Option<String> {
    (!path.is_empty()).then(|| path.to_string())
}

pub type Result<T> = std::result::Result<T, DeviceCgroupError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_error_names_step_path_and_errno() {
        let e = sys("write devices.allow", "/sys/fs/cgroup/devices/x/devices.allow")(Errno::EPERM);
        assert_eq!(e.to_string(), "write devices.allow(/sys/fs/cgroup/devices/x/devices.allow): EPERM: Operation not permitted");
        let w = e.to_wire();
        assert_eq!((w.code.as_str(), w.op.as_str(), w.errno), ("EPERM", "write devices.allow", Some(1)));
        assert_eq!(w.path.as_deref(), Some("/sys/fs/cgroup/devices/x/devices.allow"));
    }

    #[test]
    fn verifier_log_travels_in_the_wire_message() {
        let e = DeviceCgroupError::BpfLoad { op: "bpf(BPF_PROG_LOAD)", path: String::new(), errno: Errno::EACCES, log: "R0 !read_ok".into() };
        let w = e.to_wire();
        assert_eq!((w.code.as_str(), w.path.as_deref()), ("EACCES", None));
        assert!(w.message.ends_with("verifier log: R0 !read_ok"), "{}", w.message);
    }
}
