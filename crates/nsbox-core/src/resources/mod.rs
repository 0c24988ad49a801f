//! docker's resource options (`--memory`, `--cpus`, `--pids-limit`, `--ulimit`, `--shm-size`,
//! `--tmpfs`, …) → the OCI config's `linux.resources`, `process.rlimits` and mounts, with docker's
//! units and validation messages. The one place these values are parsed: the CLI and the TS
//! library pass the user's text through, `update` uses the same code. Errors name the option
//! (`resources.memory`); the CLI turns that into the flag's name.

mod host;
mod limits;
mod mounts;
pub mod units;

use serde::Deserialize;
use serde_json::{json, Map, Value};

pub use host::Host;
pub use mounts::{tmpfs_mounts, TmpfsMount, HOST_VIEW_RUN, HOST_VIEW_TMP};

use crate::WireError;

/// A size: bytes as a number, or docker's text (`256m`, `1g`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Size {
    Bytes(i64),
    Text(String),
}

/// A count of CPUs: a number (`1.5`) or its text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Cpus {
    Number(f64),
    Text(String),
}

/// `nofile=1024:2048` or `{ name, soft, hard }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Ulimit {
    Text(String),
    Object { name: String, soft: i64, hard: Option<i64> },
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ResourceOptions {
    pub memory: Option<Size>,
    /// Memory plus swap; -1 for unlimited swap.
    pub memory_swap: Option<Size>,
    pub memory_reservation: Option<Size>,
    /// Accepted and ignored, as docker 23+ does (Linux ≥ 5.16 has no kernel memory limit).
    pub kernel_memory: Option<Size>,
    pub oom_kill_disable: Option<bool>,
    pub cpus: Option<Cpus>,
    pub cpu_shares: Option<i64>,
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// 0 or -1: unlimited.
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    /// `DEVICE:RATE`, e.g. `/dev/vda:1mb`.
    pub device_read_bps: Vec<String>,
    pub device_write_bps: Vec<String>,
    /// `DEVICE:COUNT`.
    pub device_read_iops: Vec<String>,
    pub device_write_iops: Vec<String>,
    pub ulimits: Vec<Ulimit>,
    pub shm_size: Option<Size>,
    /// `PATH[:OPTIONS]`, docker's `--tmpfs`.
    pub tmpfs: Vec<String>,
}

pub(crate) fn invalid(field: &str, msg: impl Into<String>) -> WireError {
    WireError::invalid_spec(format!("resources.{field}"), msg)
}

/// Docker's floor for memory limits and reservations.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// A size option in bytes; `-1` only where `allow_unlimited`.
pub(crate) fn size(field: &str, v: &Size, allow_unlimited: bool) -> Result<i64, WireError> {
    let n = match v {
        Size::Bytes(n) => *n,
        Size::Text(t) if t.trim() == "-1" => -1,
        Size::Text(t) => units::ram_in_bytes(t).map_err(|m| invalid(field, m))?,
    };
    if n < 0 && !(allow_unlimited && n == -1) {
        return Err(invalid(field, format!("invalid size: '{n}'")));
    }
    Ok(n)
}

impl ResourceOptions {
    /// Options `update` cannot change on a running container (they are mounts and rlimits).
    pub fn creation_only(&self) -> Option<&'static str> {
        if !self.ulimits.is_empty() {
            return Some("ulimits");
        }
        if self.shm_size.is_some() {
            return Some("shmSize");
        }
        if !self.tmpfs.is_empty() {
            return Some("tmpfs");
        }
        if self.oom_kill_disable.is_some() {
            return Some("oomKillDisable");
        }
        None
    }

    /// Warnings docker prints for these options (the CLI shows them; nothing is dropped silently).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.kernel_memory.is_some() {
            w.push("Specifying a kernel memory limit is deprecated and will be removed in a future release; this kernel has none: --kernel-memory is ignored".to_string());
        }
        if self.oom_kill_disable == Some(true) && self.memory.is_none() {
            w.push("Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous.".to_string());
        }
        w
    }

    /// `linux.resources` (without devices), as OCI JSON; empty when nothing is asked for.
    pub fn linux_resources(&self, host: &Host) -> Result<Map<String, Value>, WireError> {
        let mut out = Map::new();
        let memory = limits::memory(self)?;
        if !memory.is_empty() {
            out.insert("memory".into(), Value::Object(memory));
        }
        let cpu = limits::cpu(self, host)?;
        if !cpu.is_empty() {
            out.insert("cpu".into(), Value::Object(cpu));
        }
        if let Some(p) = self.pids_limit {
            // docker: 0 and -1 are both "unlimited".
            out.insert("pids".into(), json!({"limit": if p <= 0 { -1 } else { p }}));
        }
        let bio = limits::block_io(self, host)?;
        if !bio.is_empty() {
            out.insert("blockIO".into(), Value::Object(bio));
        }
        Ok(out)
    }

    /// `process.rlimits` entries.
    pub fn rlimits(&self, host: &Host) -> Result<Vec<Value>, WireError> {
        limits::rlimits(&self.ulimits, host)
    }
}

#[cfg(test)]
mod tests;
