//! The Node addon: conversions and typed errors only. It never creates namespaces itself; containers
//! come from the `nsbox-runtime` executable, which the TS layer spawns.

// A test build has no Node to register the #[napi] exports with, so everything only they reach is
// "never used" there (46 warnings that say nothing).
#![cfg_attr(test, allow(dead_code))]

use napi::bindgen_prelude::*;
use napi_derive::napi;
use nsbox_core::options::RunOptions;
use nsbox_core::{namespaces, spec, WireError};

mod image;
mod images;
mod net;

/// Errors reach JS as `Error` whose message is the WireError JSON; ts/src/errors.ts turns it into a
/// typed error class with `code`, `op`, `path`, `errno`.
fn to_napi(e: WireError) -> Error {
    let json = serde_json::to_string(&e).unwrap_or_else(|_| e.to_string());
    Error::new(Status::GenericFailure, format!("NSBOX_ERROR:{json}"))
}

/// Validates run options (JSON) and returns the OCI runtime-spec config.json they describe.
#[napi]
pub fn build_spec(options_json: String) -> Result<String> {
    let opts: RunOptions = serde_json::from_str(&options_json)
        .map_err(|e| to_napi(WireError::invalid_spec("options", e.to_string())))?;
    let spec = spec::build(&opts).map_err(to_napi)?;
    serde_json::to_string(&spec).map_err(|e| to_napi(WireError::runtime("serialize spec", None, e.to_string())))
}

fn resource_options(json: &str) -> Result<nsbox_core::resources::ResourceOptions> {
    serde_json::from_str(json).map_err(|e| to_napi(WireError::invalid_spec("resources", e.to_string())))
}

/// docker's resource options (JSON) → the OCI `linux.resources` section `nsbox-runtime update`
/// takes. Options only a new container can have (ulimits, shmSize, tmpfs) are refused by name.
#[napi]
pub fn build_resources(options_json: String) -> Result<String> {
    let opts = resource_options(&options_json)?;
    if let Some(field) = opts.creation_only() {
        return Err(to_napi(WireError::invalid_spec(format!("resources.{field}"), "cannot be changed on an existing container (docker's update has no such option)")));
    }
    let caps = nsbox_core::options::Caller::current().caps;
    let section = opts.linux_resources(&nsbox_core::resources::Host::current(caps)).map_err(to_napi)?;
    serde_json::to_string(&section).map_err(|e| to_napi(WireError::runtime("serialize resources", None, e.to_string())))
}

/// The warnings docker prints for these resource options (`--kernel-memory`, `--oom-kill-disable`
/// without `--memory`).
#[napi]
pub fn resource_warnings(options_json: String) -> Result<Vec<String>> {
    Ok(resource_options(&options_json)?.warnings())
}

#[napi(object)]
pub struct NamespaceId {
    pub kind: String,
    /// The namespace's inode number; f64 because ids can exceed 2^31.
    pub id: f64,
}

pub struct ReadNamespaces {
    pid: Option<i32>,
}

impl Task for ReadNamespaces {
    type Output = Vec<namespaces::NsId>;
    type JsValue = Vec<NamespaceId>;

    fn compute(&mut self) -> Result<Self::Output> {
        namespaces::read_ids(self.pid).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, out: Self::Output) -> Result<Self::JsValue> {
        Ok(out.into_iter().map(|n| NamespaceId { kind: n.kind.proc_name().to_string(), id: n.id as f64 }).collect())
    }
}

/// The eight namespace ids of a process (default: the calling process).
#[napi(ts_return_type = "Promise<Array<NamespaceId>>")]
pub fn read_namespaces(pid: Option<i32>) -> AsyncTask<ReadNamespaces> {
    AsyncTask::new(ReadNamespaces { pid })
}

/// The version of the Rust core, so the CLI can report both halves.
#[napi]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
