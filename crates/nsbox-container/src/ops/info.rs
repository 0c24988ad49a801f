//! runc's read-mostly commands on one container: `ps` (its processes), `events` (its cgroups'
//! numbers, once with `--stats` or every interval) and `update` (new resources: device rules, and
//! pids, memory, cpu and cpuset through nsbox-cgroups' resources/; everything else is refused).

use std::path::PathBuf;
use std::time::Duration;

use nsbox_core::WireError;
use nsbox_cgroups::resources::Resources;
use oci_spec::runtime::{LinuxBuilder, LinuxResources};

use crate::error::{rule_wire, Result};
use crate::spec::{DevicePlan, SpecError};
use crate::state::Root;

#[derive(Debug, thiserror::Error)]
pub enum InfoError {
    #[error("{op}(): ERR_NOT_RUNNING: container not running: {id} is {status}")]
    NotRunning { op: &'static str, id: String, status: String },
    #[error("update(): ERR_UNSUPPORTED: {0}")]
    Unsupported(String),
}

impl InfoError {
    pub fn to_wire(&self) -> WireError {
        match self {
            InfoError::NotRunning { op, id, status } => rule_wire("ERR_NOT_RUNNING", op, "", &format!("container not running: {id} is {status}")),
            InfoError::Unsupported(m) => rule_wire("ERR_UNSUPPORTED", "update", "", m),
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

/// `update --resources`: the device rules (the v1 devices list is replaced; on cgroup2 a further
/// program is attached, which can only narrow what the first allows), then pids, memory, cpu and
/// cpuset written as at create (nsbox-cgroups' resources/). What resources/ refuses at create is
/// refused here too, before anything is written; a write the kernel refuses stops the update
/// there (earlier writes stay, as with runc).
pub fn update(root: &Root, reference: &str, resources_json: &str) -> Result<()> {
    let r: LinuxResources = serde_json::from_str(resources_json).map_err(|e| SpecError::new("resources", e.to_string()))?;
    if r.memory().as_ref().and_then(|m| m.check_before_update()).unwrap_or(false) {
        return Err(InfoError::Unsupported("linux.resources.memory.checkBeforeUpdate is not supported by this runtime (the kernel refuses a v1 limit below the usage by itself); nothing was changed".into()).into());
    }
    let settings = Resources::from_oci(&r).map_err(crate::create::RunError::from)?;
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    let status = st.live_status();
    if !matches!(status, "created" | "running" | "paused") {
        return Err(InfoError::NotRunning { op: "update", id, status: status.to_string() }.into());
    }
    let dirs = dirs(&st.cgroups);
    if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        let linux = LinuxBuilder::default().resources(r).build().map_err(|e| SpecError::new("resources", e.to_string()))?;
        let plan = DevicePlan::from_linux(&linux)?;
        nsbox_cgroups::devices::apply_to_cgroups(&dirs, &plan.rules).map_err(crate::create::RunError::from)?;
    }
    nsbox_cgroups::resources::apply(&settings, &dirs, &nsbox_cgroups::kinds_of(&dirs)).map_err(crate::create::RunError::from)?;
    Ok(())
}
