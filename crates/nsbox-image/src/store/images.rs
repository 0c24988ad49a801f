//! Images as the store keeps them: a manifest blob (config + layer blobs), the config blob (the
//! run settings and the diff ids), names from the index. Lookup by name, by digest, or by an
//! id prefix (the config digest, docker's IMAGE ID).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{normalize, Result, Store, StoreError};
use crate::digest::Digest;

pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Value>,
}

impl Descriptor {
    pub fn digest(&self) -> Result<Digest> {
        Ok(Digest::parse(&self.digest)?)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// What `images` and `image inspect` show.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    /// The config's digest (docker's IMAGE ID).
    pub id: String,
    /// The manifest's digest (what a registry and `inspect`'s RepoDigests name).
    pub digest: String,
    pub names: Vec<String>,
    pub created: Option<String>,
    /// Bytes of the layer blobs as stored.
    pub size: u64,
    pub architecture: Option<String>,
    pub os: Option<String>,
    pub diff_ids: Vec<String>,
    /// The whole image config (its `config` object holds Entrypoint, Cmd, Env, …).
    pub config: Value,
}

impl Store {
    pub fn manifest(&self, d: &Digest) -> Result<Manifest> {
        let bytes = self.read_blob(d)?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::invalid(format!("manifest {d}"), e.to_string()))
    }

    pub fn config(&self, m: &Manifest) -> Result<Value> {
        let d = m.config.digest()?;
        let bytes = self.read_blob(&d)?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::invalid(format!("image config {d}"), e.to_string()))
    }

    /// The manifest a user's reference means: a name, a digest, or a unique id prefix.
    pub fn resolve(&self, reference: &str) -> Result<Digest> {
        let idx = self.read_index()?;
        if let Some(d) = idx.digest_of(reference).or_else(|| normalize(reference).ok().and_then(|n| idx.digest_of(&n))) {
            return Ok(d);
        }
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        let is_hex = hex.len() >= 4 && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if is_hex {
            let mut found: Vec<Digest> = Vec::new();
            for m in idx.manifests() {
                let id = self.manifest(&m).ok().map(|man| man.config.digest.clone()).unwrap_or_default();
                if m.hex().starts_with(hex) || id.strip_prefix("sha256:").is_some_and(|h| h.starts_with(hex)) {
                    found.push(m);
                }
            }
            if found.len() == 1 {
                return Ok(found.remove(0));
            }
            if found.len() > 1 {
                return Err(StoreError::invalid(format!("image {reference:?}"), "the id prefix matches several images: give more digits"));
            }
        }
        Err(StoreError::NotFound { reference: reference.to_owned(), store: self.root.display().to_string() })
    }

    pub fn info(&self, manifest: &Digest) -> Result<ImageInfo> {
        let idx = self.read_index()?;
        let m = self.manifest(manifest)?;
        let config = self.config(&m)?;
        let s = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(ImageInfo {
            id: m.config.digest.clone(),
            digest: manifest.to_string(),
            names: idx.names_of(manifest),
            created: s("created"),
            size: m.layers.iter().map(|l| l.size).sum(),
            architecture: s("architecture"),
            os: s("os"),
            diff_ids: diff_ids(&config, manifest)?.iter().map(Digest::to_string).collect(),
            config,
        })
    }

    pub fn inspect(&self, reference: &str) -> Result<ImageInfo> {
        self.info(&self.resolve(reference)?)
    }

    /// Every named image, newest first.
    pub fn list(&self) -> Result<Vec<ImageInfo>> {
        let mut out: Vec<ImageInfo> = self.read_index()?.manifests().iter().map(|m| self.info(m)).collect::<Result<_>>()?;
        out.sort_by(|a, b| b.created.cmp(&a.created).then(a.names.cmp(&b.names)));
        Ok(out)
    }

    /// The unpacked layer directories of an image, bottom first; each must be present.
    pub fn layer_dirs(&self, manifest: &Digest) -> Result<Vec<std::path::PathBuf>> {
        let m = self.manifest(manifest)?;
        self.layer_dirs_of(manifest, &self.config(&m)?)
    }

    pub(crate) fn layer_dirs_of(&self, manifest: &Digest, config: &Value) -> Result<Vec<std::path::PathBuf>> {
        diff_ids(config, manifest)?
            .iter()
            .map(|d| {
                let p = self.layer_path(d);
                if p.is_dir() { Ok(p) } else { Err(StoreError::invalid(format!("image {manifest}"), format!("layer {d} is not unpacked in the store (load or pull the image again)"))) }
            })
            .collect()
    }
}

pub fn diff_ids(config: &Value, what: &Digest) -> Result<Vec<Digest>> {
    let ids = config.pointer("/rootfs/diff_ids").and_then(Value::as_array)
        .ok_or_else(|| StoreError::invalid(format!("image config of {what}"), "rootfs.diff_ids is missing"))?;
    ids.iter()
        .map(|v| Ok(Digest::parse(v.as_str().unwrap_or(""))?))
        .collect()
}
