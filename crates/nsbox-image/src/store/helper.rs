//! Rootless with subordinate ids, what needs root of a user namespace with the store's maps —
//! unpacking a layer with its owners, removing files of subordinate ids — is done by
//! `nsbox-runtime unpack-layer` / `store-remove` (the Node addon never makes a namespace). They
//! answer with one JSON line on stdout: `{"ok": …}` or `{"error": {"code", "errno", "message"}}`;
//! notes go to stderr, which is ours.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::{Result, Store, StoreError};
use crate::digest::Digest;
use crate::unpack::Compression;

static RUNTIME: OnceLock<PathBuf> = OnceLock::new();

/// The runtime executable the helpers run (the TS layer's `runtimePath()`); NSBOX_RUNTIME first.
pub fn set_runtime(path: PathBuf) {
    let _ = RUNTIME.set(path);
}

fn runtime(what: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("NSBOX_RUNTIME").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    RUNTIME.get().cloned().ok_or_else(|| StoreError::Rootless {
        what: what.to_owned(),
        msg: "a rootless store with subordinate ids needs nsbox-runtime to work in a user namespace, and none was named (NSBOX_RUNTIME)".into(),
    })
}

pub fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

pub fn parse_compression(s: &str) -> Option<Compression> {
    Some(match s {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "zstd" => Compression::Zstd,
        _ => return None,
    })
}

/// The helper's answer line for a result.
pub fn answer(r: std::result::Result<Value, StoreError>) -> (String, i32) {
    match r {
        Ok(v) => (json!({ "ok": v }).to_string(), 0),
        Err(e) => (json!({ "error": { "code": e.code(), "errno": e.errno(), "message": e.to_string() } }).to_string(), 1),
    }
}

impl Store {
    fn helper(&self, what: &str, args: &[&str]) -> Result<Value> {
        let rt = runtime(what)?;
        // Node marks its stderr close-on-exec: handed over as a copy, which the child gets as its fd 2.
        let stderr = std::io::stderr().as_fd().try_clone_to_owned().map(Stdio::from).unwrap_or_else(|_| Stdio::inherit());
        let out = Command::new(&rt)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .output()
            .map_err(|e| StoreError::io("run nsbox-runtime", &rt, &e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Value = text.lines().last().and_then(|l| serde_json::from_str(l).ok()).ok_or_else(|| StoreError::Helper {
            code: "ERR_ROOTLESS_IMAGE".into(),
            errno: None,
            msg: format!("{what}: {} {} gave no answer ({})", rt.display(), args[0], out.status),
        })?;
        if let Some(e) = v.get("error") {
            return Err(StoreError::Helper {
                code: e["code"].as_str().unwrap_or("ERR_ROOTLESS_IMAGE").to_owned(),
                errno: e["errno"].as_i64().map(|n| n as i32),
                msg: e["message"].as_str().unwrap_or("failed").to_owned(),
            });
        }
        Ok(v["ok"].clone())
    }

    /// Unpacks a layer blob in the runtime's user namespace (the caller holds the blob's lock).
    pub(crate) fn helper_unpack(&self, blob: &Digest, compression: Compression) -> Result<Digest> {
        let root = self.root.display().to_string();
        let d = blob.to_string();
        let v = self.helper(&format!("unpack layer {blob}"), &["unpack-layer", "--store", &root, "--blob", &d, "--compression", compression_name(compression)])?;
        Ok(Digest::parse(v["diffId"].as_str().unwrap_or(""))?)
    }

    pub(crate) fn helper_populate(&self, layers: &[PathBuf], target: &str, dest: &Path) -> Result<()> {
        let root = self.root.display().to_string();
        let dest = dest.display().to_string();
        let mut args = vec!["populate-volume", "--store", &root, "--target", target, "--dest", &dest];
        let layers: Vec<String> = layers.iter().map(|l| l.display().to_string()).collect();
        args.extend(layers.iter().map(String::as_str));
        self.helper(&format!("volume {target}"), &args).map(drop)
    }

    pub(crate) fn helper_remove(&self, p: &Path) -> Result<()> {
        let root = self.root.display().to_string();
        let path = p.display().to_string();
        self.helper(&format!("remove {path}"), &["store-remove", "--store", &root, &path]).map(drop)
    }
}

/// `store-remove`'s check: only a layer, a container's layer or a tmp/ entry of this store.
pub fn removable(root: &Path, p: &Path) -> bool {
    within(root, p, &["layers", "containers", "tmp"], 2)
}

/// `populate-volume`'s: layers of the store, a destination in a container's layer.
pub fn volume_paths_ok(root: &Path, layers: &[PathBuf], dest: &Path) -> bool {
    layers.iter().all(|l| within(root, l, &["layers"], 2)) && within(root, dest, &["containers"], 4)
}

fn within(root: &Path, p: &Path, dirs: &[&str], depth: usize) -> bool {
    let Ok(rest) = p.strip_prefix(root) else { return false };
    let parts: Vec<_> = rest.components().collect();
    parts.len() == depth
        && parts[0].as_os_str().to_str().is_some_and(|d| dirs.contains(&d))
        && parts.iter().all(|c| matches!(c, std::path::Component::Normal(_)))
}
