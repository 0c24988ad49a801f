//! `update`: new `linux.resources` for a created, running or paused container (device rules too),
//! written into the cgroups its state records (nsbox-cgroups decides the order and docker's checks), then merged
//! into the state directory's config.json so `inspect` shows the limits in force.

use std::io::Write;
use std::path::PathBuf;

use nsbox_cgroups::kinds_of;
use nsbox_cgroups::resources::{update as write_update, ResourceError, Resources};
use nsbox_core::WireError;
use oci_spec::runtime::{LinuxBuilder, LinuxResources};

use crate::spec::{DevicePlan, SpecError};

use crate::error::{rule_wire, Result};
use crate::state::{create_private, Root};

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("update(): ERR_NOT_RUNNING: container {name} is {status}: only a created, running or paused container can be updated")]
    NotRunning { name: String, status: String },
    #[error(transparent)]
    Resources(#[from] ResourceError),
}

impl UpdateError {
    pub fn to_wire(&self) -> WireError {
        match self {
            UpdateError::NotRunning { name, status } => rule_wire(
                "ERR_NOT_RUNNING",
                "update",
                "",
                &format!("container {name} is {status}: only a created, running or paused container can be updated"),
            ),
            UpdateError::Resources(e) => e.to_wire(),
        }
    }
}

/// What `nsbox-runtime update --resources F|-` does (runc's command).
pub fn update(root: &Root, reference: &str, r: &LinuxResources) -> Result<()> {
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    let status = st.live_status().to_string();
    if !matches!(status.as_str(), "created" | "running" | "paused") {
        return Err(UpdateError::NotRunning { name: st.name, status }.into());
    }
    let check = r.memory().as_ref().and_then(|m| m.check_before_update()).unwrap_or(false);
    // Checked whole before anything is written: what create refuses, update refuses too.
    let res = Resources::from_oci(r).map_err(UpdateError::from)?;
    let dirs: Vec<PathBuf> = st.cgroups.iter().map(PathBuf::from).collect();
    if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        // The v1 list is replaced; on cgroup2 a further program is attached, which can only
        // narrow what the first allows.
        let linux = LinuxBuilder::default().resources(r.clone()).build().map_err(|e| SpecError::new("resources", e.to_string()))?;
        let plan = DevicePlan::from_linux(&linux)?;
        nsbox_cgroups::devices::apply_to_cgroups(&dirs, &plan.rules).map_err(crate::create::RunError::from)?;
    }
    let kinds = kinds_of(&dirs);
    write_update(&res, &dirs, &kinds, check).map_err(UpdateError::from)?;
    record(root, &id, r);
    Ok(())
}

/// Merges the new values into config.json's linux.resources (best effort: the limits are in force
/// whatever happens here; inspect would show the old ones).
fn record(root: &Root, id: &str, r: &LinuxResources) {
    let path = root.dir_of(id).join("config.json");
    let Ok(text) = std::fs::read_to_string(&path) else { return };
    let Ok(mut spec) = serde_json::from_str::<serde_json::Value>(&text) else { return };
    let Ok(serde_json::Value::Object(new)) = serde_json::to_value(r) else { return };
    let section = &mut spec["linux"]["resources"];
    if !section.is_object() {
        *section = serde_json::json!({});
    }
    for (k, v) in new {
        match (section.get_mut(&k), v) {
            (Some(serde_json::Value::Object(old)), serde_json::Value::Object(v)) => old.extend(v),
            (_, v) if !v.is_null() => section[&k] = v,
            _ => {}
        }
    }
    let tmp = path.with_extension(format!("json.{}", std::process::id()));
    let ok = create_private(&tmp, true)
        .and_then(|mut f| f.write_all(&serde_json::to_vec_pretty(&spec).unwrap_or_default()))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if ok.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
