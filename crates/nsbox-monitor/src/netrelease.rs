//! Releasing a detached container's network endpoints when its first process has ended, as docker
//! releases a container's network when it stops. The process that attached them (TS `launch`)
//! wrote `ID/endpoints.json` before the command started: for each endpoint its id, network, the
//! network store's root (`netRoot`) and the directory of the /etc files bound into the container
//! (`filesDir`). The monitor detaches each through nsbox-net (veth, lease, published ports' nft
//! elements, the lease's files) and deletes `filesDir`.
//!
//! This runs only after the monitor's loop, when it will never fork again: nsbox-net may start
//! helper threads (the veth deletions'), and [`settle`] joins them before the monitor exits.
//! Nothing here can stop the monitor: every failure is returned.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nsbox_core::WireError;
use serde::Deserialize;

/// One line of endpoints.json, as far as releasing it goes (inspect's fields are ignored here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    endpoint: String,
    network: Option<String>,
    net_root: Option<String>,
    files_dir: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{op}({}): {}: {}", path.display(), nsbox_core::error::errno_name(*errno), errno.desc())]
    Io { op: &'static str, path: PathBuf, errno: Errno },
    #[error("{op}({}): ERR_STATE: {detail}", path.display())]
    Corrupt { op: &'static str, path: PathBuf, detail: String },
    /// nsbox-net's detach failed (or part of it: it goes on past failures and reports them all).
    #[error("{op}({endpoint}): {code}: {source}")]
    Detach { op: &'static str, endpoint: String, code: String, errno: Option<Errno>, source: nsbox_net::NetError },
    /// A veth deletion left to the kernel did not complete (none is expected to fail).
    #[error("{op}: {source}")]
    Settle { op: &'static str, source: nsbox_net::netlink::NetlinkError },
}

fn io(op: &'static str, path: &Path, e: &std::io::Error) -> ReleaseError {
    ReleaseError::Io { op, path: path.to_path_buf(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
}

/// What the monitor did with the container's endpoints.
#[derive(Debug, Default)]
pub struct Released {
    /// Endpoint ids no longer attached: detached now, or found already gone (released by
    /// `remove()` or reclaimed by networking first).
    pub endpoints: Vec<String>,
    pub errors: Vec<ReleaseError>,
}

/// Releases every endpoint recorded in `dir/endpoints.json` (none when there is no such file).
pub fn release(dir: &Path) -> Released {
    let mut out = Released::default();
    let path = dir.join("endpoints.json");
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            out.errors.push(io("read", &path, &e));
            return out;
        }
    };
    // Records are read one by one, so one that cannot be parsed does not hide the others.
    let values: Vec<serde_json::Value> = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(e) => {
            out.errors.push(ReleaseError::Corrupt { op: "parse endpoints", path, detail: e.to_string() });
            return out;
        }
    };
    for v in values {
        match serde_json::from_value::<Record>(v) {
            Ok(r) => release_one(&r, &mut out),
            Err(e) => out.errors.push(ReleaseError::Corrupt { op: "parse endpoint", path: path.clone(), detail: e.to_string() }),
        }
    }
    out
}

fn release_one(r: &Record, out: &mut Released) {
    let store = nsbox_net::Store::new(r.net_root.as_deref().filter(|s| !s.is_empty()).map(Path::new));
    let opts = nsbox_net::DetachOptions { netns: None, endpoint: Some(r.endpoint.clone()), network: r.network.clone() };
    // Ok with no ids: the lease was gone already (someone released or reclaimed it first).
    match nsbox_net::detach(&store, &opts) {
        Ok(_) => out.endpoints.push(r.endpoint.clone()),
        Err(e) => {
            let w = WireError::from(&e);
            let errno = w.errno.map(Errno::from_raw);
            out.errors.push(ReleaseError::Detach { op: "detach endpoint", endpoint: r.endpoint.clone(), code: w.code, errno, source: e });
        }
    }
    let Some(files) = r.files_dir.as_deref().filter(|f| !f.is_empty()) else { return };
    let files = Path::new(files);
    if !files.is_absolute() {
        out.errors.push(ReleaseError::Corrupt { op: "remove /etc files", path: files.to_path_buf(), detail: "not an absolute path".into() });
        return;
    }
    match std::fs::remove_dir_all(files) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => out.errors.push(io("remove /etc files", files, &e)),
    }
}

/// Waits for the veth deletions nsbox-net left to the kernel (its helper threads); returns the
/// failures. Called before the monitor exits.
pub fn settle() -> Vec<ReleaseError> {
    nsbox_net::teardown::settle()
        .into_iter()
        .map(|source| ReleaseError::Settle { op: "settle veth deletion", source })
        .collect()
}
