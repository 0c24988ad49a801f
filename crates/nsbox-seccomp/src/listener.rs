//! Handing a `SCMP_ACT_NOTIFY` listener to the seccomp agent, as the runtime spec's
//! `linux.seccomp.listenerPath` says: connect a `SOCK_STREAM` unix socket to the path, send the
//! "container process state" JSON with the listener fd attached by `SCM_RIGHTS` (named
//! `seccompFd` in its `fds`), and close: one state per connection.
//!
//! Needs no libseccomp, so it is built without the `apply` feature.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr};

use crate::errno_name;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The name the spec gives the listener in `fds`.
pub const SECCOMP_FD_NAME: &str = "seccompFd";

/// What the agent receives (the spec's "container process state").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerProcessState {
    pub oci_version: String,
    /// Names of the fds sent with `SCM_RIGHTS`, in order.
    #[serde(default)]
    pub fds: Vec<String>,
    /// The container process, as the runtime sees it.
    pub pid: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// The container's OCI state (`ociVersion`, `id`, `status`, `pid`, `bundle`, ...).
    pub state: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    /// The state passed in is not an OCI state.
    #[error("seccomp listener state: {message}")]
    State { message: String },
}

/// The message for the agent: `state_json` is the container's OCI state as `state` prints it;
/// its `ociVersion` and `pid` are required (the spec requires both in the process state).
pub fn process_state(state_json: &str, metadata: Option<&str>) -> Result<ContainerProcessState, ListenerError> {
    let bad = |message: String| ListenerError::State { message };
    let state: Value = serde_json::from_str(state_json).map_err(|e| bad(e.to_string()))?;
    let oci_version = state
        .get("ociVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("ociVersion: required string".into()))?
        .to_string();
    let pid = state
        .get("pid")
        .and_then(Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| bad("pid: required positive integer".into()))?;
    Ok(ContainerProcessState {
        oci_version,
        fds: vec![SECCOMP_FD_NAME.to_string()],
        pid,
        metadata: metadata.map(str::to_string),
        state,
    })
}

/// Sends `listener` and the process state built from `state_json` (+ `metadata`, the spec's
/// `listenerMetadata`) to the agent listening at `listener_path`. Any failure is an error: the
/// spec says the runtime must fail if sending fails.
pub fn send_listener(
    listener: BorrowedFd<'_>,
    listener_path: &Path,
    metadata: Option<&str>,
    state_json: &str,
) -> Result<(), ListenerError> {
    let sock = connect(listener_path)?;
    send_on(sock, listener_path, listener, metadata, state_json)
}

/// Connects to the agent at `listener_path`; [`send_on`] sends over it later. Split so that a
/// runtime can connect while the path is reachable (before it enters a container's mount
/// namespace) and send once it has the listener.
pub fn connect(listener_path: &Path) -> Result<OwnedFd, ListenerError> {
    let path = listener_path.display().to_string();
    let sys = |op: &'static str| {
        let path = path.clone();
        move |errno| ListenerError::Sys { op, path, errno }
    };
    let addr = UnixAddr::new(listener_path).map_err(sys("listener address"))?;
    let sock = socket::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(sys("socket"))?;
    socket::connect(sock.as_raw_fd(), &addr).map_err(sys("connect"))?;
    Ok(sock)
}

/// Sends `listener` and the process state over `sock` (from [`connect`] to `listener_path`),
/// then closes it: one state per connection.
pub fn send_on(
    sock: OwnedFd,
    listener_path: &Path,
    listener: BorrowedFd<'_>,
    metadata: Option<&str>,
    state_json: &str,
) -> Result<(), ListenerError> {
    let msg = process_state(state_json, metadata)?;
    let payload = serde_json::to_vec(&msg).map_err(|e| ListenerError::State { message: e.to_string() })?;
    let path = listener_path.display().to_string();
    let sys = |op: &'static str| {
        let path = path.clone();
        move |errno| ListenerError::Sys { op, path, errno }
    };
    // The fd goes with the first sendmsg only; a short write is finished with plain sends.
    let fds = [listener.as_raw_fd()];
    let mut sent = loop {
        match socket::sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(&payload)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(Errno::EINTR) => continue,
            r => break r.map_err(sys("sendmsg"))?,
        }
    };
    while sent < payload.len() {
        match socket::send(sock.as_raw_fd(), &payload[sent..], MsgFlags::MSG_NOSIGNAL) {
            Err(Errno::EINTR) => continue,
            r => sent += r.map_err(sys("send"))?,
        }
    }
    // Closing `sock` (on drop) ends the one message this connection carries.
    Ok(())
}
