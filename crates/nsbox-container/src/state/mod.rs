//! The state root (`--root`, `NSBOX_ROOT`, else `/run/nsbox` as root and `$XDG_RUNTIME_DIR/nsbox`
//! otherwise): one directory per container holding `state.json` (replaced atomically, written only
//! by the container's monitor and by `delete`), `config.json`, the log and the attach socket. The
//! directory is 0700 and its files 0600 from their creation: the config holds the container's
//! environment (passwords), the state its command line, the log its output.
//! `names/NAME` files (created with O_EXCL under the root's flock) make names unique.

use std::fs;
use std::path::Path;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;
use serde::{Deserialize, Serialize};

use crate::error::{errno_of, rule_wire, sys_wire};
use crate::spec::SpecError;

pub mod cgroup_record;
mod names;
mod namespaces;
mod root;
mod time;

pub use root::{create_private, private_dir, validate_name, Lock, Root};
pub use namespaces::{namespaces_of, remember_own_namespaces};
pub use time::now_rfc3339;

/// [`State::mode`] of a container made by OCI `create` (no monitor).
pub const OCI_MODE: &str = "oci";

pub const NO_SUCH: &str = "ERR_NO_SUCH_CONTAINER";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Io { op: &'static str, path: String, errno: Errno },
    /// `code`: ERR_NO_SUCH_CONTAINER, ERR_AMBIGUOUS_ID, ERR_NAME_IN_USE, or ERR_STATE (state that
    /// cannot be parsed or encoded).
    #[error("{op}({path}): {code}: {msg}")]
    Rule { code: &'static str, op: &'static str, path: String, msg: String },
    #[error(transparent)]
    Spec(#[from] SpecError),
}

impl StateError {
    pub fn to_wire(&self) -> WireError {
        match self {
            StateError::Io { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            StateError::Rule { code, op, path, msg } => rule_wire(code, op, path, msg),
            StateError::Spec(e) => e.to_wire(),
        }
    }

    fn io(op: &'static str, path: &Path, e: &std::io::Error) -> StateError {
        StateError::Io { op, path: path.display().to_string(), errno: errno_of(e) }
    }

    fn rule(code: &'static str, op: &'static str, path: impl std::fmt::Display, msg: impl Into<String>) -> StateError {
        StateError::Rule { code, op, path: path.to_string(), msg: msg.into() }
    }
}

type Result<T> = std::result::Result<T, StateError>;

/// What the monitor records. Readers derive the honest status with [`State::live_status`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct State {
    pub id: String,
    pub name: String,
    /// "oci": made by OCI `create` without a monitor of ours; its caller reaps it, and its status
    /// is read from its process and exec fifo (live_status). Empty: under our monitor.
    pub mode: String,
    /// creating, created, running, exited (as last written; see live_status).
    pub status: String,
    pub pid: Option<i32>,
    /// Field 22 of /proc/PID/stat when the process started, to tell it from a reused pid.
    pub pid_start_time: Option<u64>,
    pub monitor_pid: Option<i32>,
    pub monitor_start_time: Option<u64>,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<String>,
    /// The OOM killer killed a process of the container (its memory cgroup's oom_kill count).
    pub oom_killed: bool,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub bundle: String,
    pub rootfs: String,
    pub command: Vec<String>,
    pub tty: bool,
    /// `-i`: the container's stdin stays open for attach.
    pub stdin_open: bool,
    pub auto_remove: bool,
    pub namespaces: Vec<NsState>,
    pub cgroups: Vec<String>,
    /// Directories made on the way to a `cgroupsPath` (deepest first): removed after `cgroups`
    /// unless still in use.
    pub cgroups_parents: Vec<String>,
    pub uid_map: Vec<nsbox_core::idmap::IdMapping>,
    pub gid_map: Vec<nsbox_core::idmap::IdMapping>,
    pub time_offsets: TimeOffsets,
    pub mounts: Vec<MountState>,
    pub log_path: String,
    pub log_max_size: u64,
    /// Bytes of output the log writer had to drop (slow or full disk), and its last error.
    pub log_dropped: u64,
    pub log_error: Option<String>,
    /// Failures the monitor met that did not stop the container (cleanup, state writes).
    pub errors: Vec<String>,
    /// Network endpoints (ids from endpoints.json) the monitor released when the container ended;
    /// `remove()` detaches only the others.
    pub released_endpoints: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NsState {
    pub kind: String,
    /// The namespace's inode number, as in `readlink /proc/PID/ns/KIND`.
    pub id: u64,
    /// Shared with the host (the monitor's own namespace), i.e. not created for the container.
    pub shared: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TimeOffsets {
    pub boottime: i64,
    pub monotonic: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MountState {
    pub destination: String,
    pub kind: String,
    pub source: String,
    pub readonly: bool,
}

impl State {
    /// The status as it really is now: a container whose monitor died before it could record an
    /// exit is `dead` (its process died with it: PDEATHSIG).
    pub fn live_status(&self) -> &str {
        if self.mode == OCI_MODE {
            // Nobody of ours records the exit: a process that is gone (or a zombie its caller
            // has yet to reap) is stopped, as runc says.
            return match self.status.as_str() {
                s @ ("created" | "running" | "paused") if alive(self.pid, self.pid_start_time) => s,
                _ => "stopped",
            };
        }
        let monitor_alive = alive(self.monitor_pid, self.monitor_start_time);
        match self.status.as_str() {
            // A live monitor is the container's parent: it reaps it and records the exit, and until
            // then the pid (a zombie at most) cannot be reused.
            "running" | "created" | "paused" if !monitor_alive => "dead",
            "creating" if !monitor_alive => "dead",
            s => s,
        }
    }
}

/// starttime (field 22) of /proc/PID/stat, in clock ticks since boot.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The process exists, is not a zombie, and is the one that was recorded (same start time).
pub fn alive(pid: Option<i32>, start: Option<u64>) -> bool {
    let (Some(pid), Some(start)) = (pid, start) else { return false };
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let Some(close) = stat.rfind(')') else { return false };
    let mut f = stat[close + 2..].split_whitespace();
    let zombie = matches!(f.next(), Some("Z") | Some("X"));
    !zombie && f.nth(18).and_then(|s| s.parse::<u64>().ok()) == Some(start)
}
