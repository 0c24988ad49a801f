//! The OCI two-step start. `create` leaves the container held at `created` (namespaces and rootfs
//! ready, the command not exec'd) under its monitor; `start` — from any process — asks the monitor
//! over `attach.sock` (a START frame) to let it exec, and gets `{"pid"}` or the error back.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;
use serde_json::json;

use nsbox_container::create::sync::SyncError;
use nsbox_container::error::{errno_of, rule_wire, sys_wire};
use nsbox_container::state::{namespaces_of, now_rfc3339, Root};

use crate::detach::Booted;
use crate::error::{MonitorError, Result};
use crate::frames::{frame, take_frame, EXIT, START, STDERR, STDOUT};

#[derive(Debug, thiserror::Error)]
pub enum CreatedError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("start(): ERR_NOT_CREATED: container {name} is {status}: only a created container can be started")]
    NotCreated { name: String, status: String },
    #[error("start({path}): ERR_RUNTIME: the container's monitor closed the connection before answering")]
    MonitorClosed { path: String },
}

impl CreatedError {
    pub fn to_wire(&self) -> WireError {
        match self {
            CreatedError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            CreatedError::NotCreated { name, status } => rule_wire(
                "ERR_NOT_CREATED",
                "start",
                "",
                &format!("container {name} is {status}: only a created container can be started"),
            ),
            CreatedError::MonitorClosed { path } => {
                rule_wire("ERR_RUNTIME", "start", path, "the container's monitor closed the connection before answering")
            }
        }
    }
}

/// In the monitor: releases the held container; the answer for the client that asked.
pub fn start_held(root: &Root, b: &mut Booted) -> serde_json::Value {
    if b.started.held.is_none() {
        let e = MonitorError::from(not_created(&b.state.name, &b.state.status));
        return json!({ "error": e.to_wire(), "exitCode": e.exit_code() });
    }
    match b.started.release() {
        Ok(()) => {
            let pid = b.started.pid.as_raw();
            let st = &mut b.state;
            st.status = "running".into();
            st.started_at = Some(now_rfc3339());
            // The time namespace is entered at exec: read them again now.
            st.namespaces = namespaces_of(pid);
            if let Err(e) = root.write(st) {
                st.errors.push(e.to_string());
            }
            root.event("start", st);
            crate::monitor::trim_memory();
            json!({ "pid": pid })
        }
        // The child reported why it could not exec and exits; the loop reaps it and records that.
        Err(e) => json!({ "error": e.to_wire(), "exitCode": e.exit_code() }),
    }
}

fn not_created(name: &str, status: &str) -> CreatedError {
    CreatedError::NotCreated { name: name.to_string(), status: status.to_string() }
}

/// `nsbox-runtime start [--attach] C`: lets a created container exec its command. With `attach`,
/// stays for its output (to our stdout/stderr) and returns its exit code, as `docker start -a`: the
/// connection that sends START is already one of the monitor's clients, so no output is missed.
pub fn start(root: &Root, reference: &str, attach: bool) -> Result<i32> {
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    let status = st.live_status();
    if status != "created" {
        return Err(not_created(&st.name, status).into());
    }
    let path = root.dir_of(&id).join("attach.sock");
    let at = path.display().to_string();
    let io = |op: &'static str| {
        let at = at.clone();
        move |e: std::io::Error| CreatedError::Sys { op, path: at, errno: errno_of(&e) }
    };
    let mut sock = UnixStream::connect(&path).map_err(io("connect"))?;
    sock.write_all(&frame(START, b"")).map_err(io("write"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // Output of the container (it runs once started) may arrive before the answer.
        while let Some((kind, payload)) = take_frame(&mut buf) {
            match kind {
                START => {
                    answer(&payload)?;
                    if !attach {
                        return Ok(0);
                    }
                }
                STDOUT if attach => crate::attach::write_out(std::io::stdout().lock(), &payload),
                STDERR if attach => crate::attach::write_out(std::io::stderr().lock(), &payload),
                EXIT if attach => return Ok(String::from_utf8_lossy(&payload).trim().parse().unwrap_or(255)),
                _ => {}
            }
        }
        let n = sock.read(&mut chunk).map_err(io("read"))?;
        if n == 0 {
            return Err(CreatedError::MonitorClosed { path: at }.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn answer(payload: &[u8]) -> std::result::Result<(), SyncError> {
    let v: serde_json::Value = serde_json::from_slice(payload).map_err(|e| SyncError::protocol("start", e.to_string()))?;
    if v.get("pid").is_some_and(|p| p.is_i64()) {
        return Ok(());
    }
    let wire: WireError = serde_json::from_value(v["error"].clone()).map_err(|e| SyncError::protocol("start", e.to_string()))?;
    let code = v["exitCode"].as_i64().unwrap_or(125) as i32;
    Err(SyncError::Reported(wire, code))
}
