//! The user-facing run options, as the TS layer sends them to `buildSpec` (camelCase JSON).

use serde::Deserialize;

use crate::idmap::IdMapping;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RunOptions {
    pub command: Vec<String>,
    /// None: the host's root, read-only, with fresh /proc, /dev, /sys, /tmp and /run.
    pub rootfs: Option<String>,
    /// None: the defaults (docker's as root, plus user when not root).
    pub namespaces: Option<Vec<String>>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub uid_map: Vec<IdMapping>,
    pub gid_map: Vec<IdMapping>,
    pub map_root_user: bool,
    /// `KEY=VALUE` entries, added to (and overriding) the defaults.
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub user: Option<UserSpec>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub read_only: bool,
    pub volumes: Vec<Volume>,
    pub init: bool,
    pub tty: bool,
    /// docker's `--device HOST[:CONTAINER][:PERMS]`, one entry per option.
    pub devices: Vec<String>,
    /// docker's `--device-cgroup-rule 'TYPE MAJOR:MINOR PERMS'`: extra allow rules.
    pub device_cgroup_rules: Vec<String>,
    pub boottime_offset: Option<i64>,
    pub monotonic_offset: Option<i64>,
    /// `"default"` (None too), `"unconfined"`, an absolute path to a docker-format profile, or
    /// such a profile inline.
    pub seccomp: Option<SeccompOption>,
    /// no_new_privs for the container's processes; None: on unless `privileged`.
    pub no_new_privileges: Option<bool>,
    /// docker's resource options (`--memory`, `--cpus`, `--ulimit`, `--shm-size`, `--tmpfs`, …).
    pub resources: Option<crate::resources::ResourceOptions>,
    /// Filled in by the addon from the calling process, never by the user.
    pub caller: Option<Caller>,
}

/// `--security-opt seccomp=…`: a name or path, or a profile object.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SeccompOption {
    Name(String),
    Inline(serde_json::Map<String, serde_json::Value>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    pub uid: u32,
    pub gid: Option<u32>,
    #[serde(default)]
    pub additional_gids: Vec<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    /// The capabilities the caller holds and may hand on (permitted and in its bounding set), as
    /// a bit mask by kernel number; None: not known, taken to be all.
    #[serde(default)]
    pub caps: Option<u64>,
}

impl Caller {
    pub fn current() -> Caller {
        Caller { uid: nix::unistd::geteuid().as_raw(), gid: nix::unistd::getegid().as_raw(), caps: own_caps() }
    }
}

/// CapPrm & CapBnd from /proc/self/status.
fn own_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    Some(field("CapPrm:")? & field("CapBnd:")?)
}
