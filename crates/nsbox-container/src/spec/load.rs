//! Where a container's config comes from (`--bundle DIR`'s config.json, or a config frame on the
//! control socket) and the rule for container ids.

use std::path::PathBuf;

use nsbox_core::protocol::ToRuntime;
use oci_spec::runtime::Spec;

use crate::control::Control;
use crate::create::sync::SyncError;
use crate::create::RunError;
use crate::error::{errno_of, Result};
use crate::spec::unmodelled;
use crate::spec::SpecError;

/// `run`/`create`: the container's id and where its config comes from.
pub struct RunArgs {
    pub id: String,
    pub bundle: Option<PathBuf>,
    pub config_fd: Option<i32>,
    pub control_fd: Option<i32>,
    /// The state root (compiled seccomp filters are cached under it).
    pub root: Option<PathBuf>,
    /// `--no-new-keyring`: the container keeps the caller's session keyring.
    pub no_new_keyring: bool,
}

pub fn load_spec(args: &RunArgs, control: Option<&mut Control>) -> Result<(Spec, PathBuf)> {
    let protocol = |msg: &str| SyncError::protocol("config", msg);
    if let Some(fd) = args.config_fd {
        let c = control.filter(|_| Some(fd) == args.control_fd).ok_or_else(|| protocol("--config-fd must equal --control-fd"))?;
        let Some(ToRuntime::Config { spec }) = c.recv()? else { return Err(protocol("expected a config frame first").into()) };
        let spec: Spec = unmodelled::parse(spec, "config", "")?;
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        return Ok((spec, cwd));
    }
    let bundle = args.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| RunError::Sys { op: "read", path: path.display().to_string(), errno: errno_of(&e) })?;
    let spec: Spec = unmodelled::parse_str(&text, "config.json", "")?;
    let bundle = std::fs::canonicalize(&bundle).unwrap_or(bundle);
    Ok((spec, bundle))
}

pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok { Ok(()) } else { Err(SpecError::new("id", format!("{id:?} must be 1-128 characters of [A-Za-z0-9_.-]")).into()) }
}
