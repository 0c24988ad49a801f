//! The config's hooks (runtime-spec config.md, "POSIX-platform Hooks"), each run with the
//! container's state as JSON on its stdin, its own args and env, and its timeout:
//! - `prestart` and `createRuntime`: in the runtime's namespaces, by the process that creates the
//!   container, once its namespaces and cgroups exist and before its root is set up;
//! - `createContainer`: in the container's namespaces, before its root is assembled and pivoted
//!   into (its path and the paths it uses resolve as in the runtime's mount tree);
//! - `startContainer`: in the container, after `start` and before the command is executed;
//! - `poststart`: in the runtime's namespaces once the command runs (a failure is only a warning);
//! - `poststop`: by `delete`, once the container is gone (a failure is only a warning).
//!
//! A failing or timed-out hook of the first four fails the create or start.

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;
use oci_spec::runtime::Hook;

use crate::error::{errno_of, rule_wire, sys_wire};

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook({path}): {}: {}", errno_name(*errno), errno.desc())]
    Spawn { kind: &'static str, path: String, errno: Errno },
    #[error("{kind} hook({path}): ERR_HOOK: {status}")]
    Failed { kind: &'static str, path: String, status: String },
    #[error("{kind} hook({path}): ERR_HOOK: timed out after {secs} s")]
    Timeout { kind: &'static str, path: String, secs: i64 },
}

impl HookError {
    pub fn to_wire(&self) -> WireError {
        match self {
            HookError::Spawn { kind, path, errno } => sys_wire(&format!("{kind} hook"), path, *errno, errno.desc()),
            HookError::Failed { kind, path, status } => rule_wire("ERR_HOOK", &format!("{kind} hook"), path, status),
            HookError::Timeout { kind, path, secs } => rule_wire("ERR_HOOK", &format!("{kind} hook"), path, &format!("timed out after {secs} s")),
        }
    }
}

/// The state hooks read on stdin (runtime-spec's state.md).
pub fn state_json(id: &str, status: &str, pid: i32, bundle: &std::path::Path, annotations: &std::collections::HashMap<String, String>) -> String {
    serde_json::json!({
        "ociVersion": "1.2.0", "id": id, "status": status, "pid": pid,
        "bundle": bundle.display().to_string(), "annotations": annotations,
    })
    .to_string()
}

/// Runs `hooks` in order; stops at the first that fails.
pub fn run(kind: &'static str, hooks: &[Hook], state: &str) -> Result<(), HookError> {
    hooks.iter().try_for_each(|h| run_one(kind, h, state))
}

/// Runs every hook and returns the failures (poststart, poststop: warnings, the rest still run).
pub fn run_all(kind: &'static str, hooks: &[Hook], state: &str) -> Vec<HookError> {
    hooks.iter().filter_map(|h| run_one(kind, h, state).err()).collect()
}

fn run_one(kind: &'static str, hook: &Hook, state: &str) -> Result<(), HookError> {
    let path = hook.path().display().to_string();
    let args = hook.args().clone().unwrap_or_default();
    let mut cmd = Command::new(hook.path());
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    // The hook's output goes where ours goes; it is not the container's.
    cmd.stdin(Stdio::piped()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| HookError::Spawn { kind, path: path.clone(), errno: errno_of(&e) })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin closes the pipe early: EPIPE is no failure.
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = hook.timeout().filter(|t| *t > 0).map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return Ok(()),
            Ok(Some(st)) => {
                let status = match (st.code(), st.signal()) {
                    (Some(c), _) => format!("exited with {c}"),
                    (_, Some(s)) => format!("killed by signal {s}"),
                    _ => "failed".to_string(),
                };
                return Err(HookError::Failed { kind, path, status });
            }
            Ok(None) => {}
            Err(e) => return Err(HookError::Spawn { kind, path, errno: errno_of(&e) }),
        }
        if let Some((secs, at)) = deadline {
            if Instant::now() >= at {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::Timeout { kind, path, secs });
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
