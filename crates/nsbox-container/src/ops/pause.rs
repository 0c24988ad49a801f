//! `pause` / `resume` (docker's pause/unpause): every process of the container stops being
//! scheduled, through its cgroup's freezer (nsbox-cgroups' freezer.rs). Here: which containers may
//! be paused or resumed, and the status recorded for them.

use std::path::PathBuf;

use nix::errno::Errno;
use nsbox_cgroups::Freezer;
use nsbox_core::WireError;

use crate::error::{rule_wire, sys_wire, Result};
use crate::state::{Root, State};

#[derive(Debug, thiserror::Error)]
pub enum FreezeError {
    #[error("{op}(): ERR_NOT_RUNNING: container {name} is {status}")]
    NotRunning { op: &'static str, name: String, status: String },
    #[error("resume(): ERR_NOT_PAUSED: container {name} is not paused")]
    NotPaused { name: String },
    #[error("pause({name}): ENOTSUP: the container has no freezer (no cgroup v2 and no v1 freezer cgroup of its own)")]
    NoFreezer { name: String },
}

impl FreezeError {
    pub fn to_wire(&self) -> WireError {
        match self {
            FreezeError::NotRunning { op, name, status } => {
                rule_wire("ERR_NOT_RUNNING", op, "", &format!("container {name} is {status}"))
            }
            FreezeError::NotPaused { name } => rule_wire("ERR_NOT_PAUSED", "resume", "", &format!("container {name} is not paused")),
            FreezeError::NoFreezer { name } => sys_wire("pause", name, Errno::ENOTSUP, "the container has no freezer cgroup"),
        }
    }
}

fn freezer_of(st: &State) -> Option<Freezer> {
    let dirs: Vec<PathBuf> = st.cgroups.iter().map(PathBuf::from).collect();
    Freezer::of(&dirs)
}

pub fn pause(root: &Root, reference: &str) -> Result<()> {
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    let status = st.live_status();
    if status != "running" {
        return Err(FreezeError::NotRunning { op: "pause", name: st.name.clone(), status: status.to_string() }.into());
    }
    let f = freezer_of(&st).ok_or_else(|| FreezeError::NoFreezer { name: st.name.clone() })?;
    f.set_frozen(true)?;
    // Frozen, it cannot exit any more; but it may have done so just before: then it stays exited.
    let mut st = root.read(&id)?;
    if st.live_status() == "running" {
        st.status = "paused".into();
        root.write(&st)?;
        root.event("pause", &st);
    }
    Ok(())
}

pub fn resume(root: &Root, reference: &str) -> Result<()> {
    let id = root.find(reference)?;
    let mut st = root.read(&id)?;
    if st.live_status() != "paused" {
        return Err(FreezeError::NotPaused { name: st.name.clone() }.into());
    }
    let f = freezer_of(&st).ok_or_else(|| FreezeError::NoFreezer { name: st.name.clone() })?;
    // Recorded first: once thawed it may exit at once, and its monitor then records that.
    st.status = "running".into();
    root.write(&st)?;
    f.set_frozen(false)?;
    root.event("unpause", &st);
    Ok(())
}

/// Best effort, for `delete -f`: a frozen (v1) task takes no signal, not even SIGKILL, until thawed.
pub fn thaw(st: &State) {
    if let Some(f) = freezer_of(st) {
        let _ = f.set_frozen(false);
    }
}
