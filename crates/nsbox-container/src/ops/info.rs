//! runc's read-mostly commands on one container: `ps` (its processes) and `events` (its cgroups'
//! numbers, once with `--stats` or every interval). `update` is update.rs's.

use std::path::PathBuf;
use std::time::Duration;

use nsbox_core::WireError;

use crate::error::{rule_wire, Result};
use crate::state::Root;

#[derive(Debug, thiserror::Error)]
pub enum InfoError {
    #[error("{op}(): ERR_NOT_RUNNING: container not running: {id} is {status}")]
    NotRunning { op: &'static str, id: String, status: String },
}

impl InfoError {
    pub fn to_wire(&self) -> WireError {
        match self {
            InfoError::NotRunning { op, id, status } => rule_wire("ERR_NOT_RUNNING", op, "", &format!("container not running: {id} is {status}")),
        }
    }
}

fn dirs(cgroups: &[String]) -> Vec<PathBuf> {
    cgroups.iter().map(PathBuf::from).collect()
}

/// `ps`: the pids in the container's cgroups; `json` as runc prints them (an array), else a table
/// of pid and command line.
pub fn ps(root: &Root, reference: &str, json: bool) -> Result<String> {
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    let status = st.live_status();
    if !matches!(status, "created" | "running" | "paused") {
        return Err(InfoError::NotRunning { op: "ps", id, status: status.to_string() }.into());
    }
    let mut pids = nsbox_cgroups::stats::pids(&dirs(&st.cgroups));
    if pids.is_empty() {
        pids.extend(st.pid);
    }
    if json {
        return Ok(format!("{}\n", serde_json::json!(pids)));
    }
    let mut out = String::from("PID\tCMD\n");
    for p in pids {
        let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
        let cmd: Vec<String> = cmd.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
        out.push_str(&format!("{p}\t{}\n", cmd.join(" ")));
    }
    Ok(out)
}

/// `events`: `{"type":"stats","id":…,"data":{pids,memory,cpu}}` once (`stats`), or every
/// `interval` until the container stops. Each line is written with `emit`.
pub fn events(root: &Root, reference: &str, stats: bool, interval: Duration, mut emit: impl FnMut(&str)) -> Result<()> {
    let id = root.find(reference)?;
    loop {
        let st = root.read(&id)?;
        let status = st.live_status();
        if !matches!(status, "created" | "running" | "paused") {
            if stats {
                return Err(InfoError::NotRunning { op: "events", id, status: status.to_string() }.into());
            }
            return Ok(());
        }
        let data = nsbox_cgroups::stats::read(&dirs(&st.cgroups));
        emit(&serde_json::json!({ "type": "stats", "id": id, "data": data }).to_string());
        if stats {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

