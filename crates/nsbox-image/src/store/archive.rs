//! `load` and `save`: OCI archives (an image layout as a tar: `oci-layout`, `index.json`,
//! `blobs/sha256/…`) and docker archives (`manifest.json`, `<config>.json`, `<id>/layer.tar`), what
//! `docker save` and `podman save` write. Loading streams each blob into the store (hashed on the
//! way: blobs/sha256/<hex> must hash to <hex>), unpacks the layers, checks every diff id against the
//! config, and only then names the images.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde_json::{json, Value};

use super::images::{diff_ids, Descriptor, Manifest, MEDIA_DOCKER_LIST, MEDIA_OCI_CONFIG, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST};
use super::{normalize, Result, Store, StoreError};
use crate::digest::{Digest, HashingWriter};
use crate::unpack::Compression;

/// JSON files of an archive are read into memory; anything bigger is not one.
const MAX_JSON: u64 = 16 << 20;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Loaded {
    pub name: Option<String>,
    pub digest: String,
}

struct Blob {
    digest: Digest,
    size: u64,
}

impl Store {
    /// Loads every image of an OCI or docker archive; returns the names (or digests) loaded.
    pub fn load(&self, archive: &Path) -> Result<Vec<Loaded>> {
        let what = archive.display().to_string();
        let f = File::open(archive).map_err(|e| StoreError::io("open", archive, &e))?;
        let mut tar = tar::Archive::new(BufReader::with_capacity(1 << 20, f));
        let mut json: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut blobs: BTreeMap<String, Blob> = BTreeMap::new();
        let read_err = |e: io::Error| StoreError::invalid(format!("load {what}"), format!("read archive: {e}"));
        // docker save (before 25) links a layer.tar met twice to its first copy.
        let mut links: Vec<(String, String)> = Vec::new();
        for entry in tar.entries().map_err(read_err)? {
            let mut entry = entry.map_err(read_err)?;
            let path = String::from_utf8_lossy(&entry.path_bytes()).trim_start_matches("./").to_owned();
            let kind = entry.header().entry_type();
            if kind == tar::EntryType::Symlink || kind == tar::EntryType::Link {
                if let Some(target) = entry.link_name_bytes() {
                    let target = String::from_utf8_lossy(&target).into_owned();
                    let base = if kind == tar::EntryType::Symlink { Path::new(&path).parent().unwrap_or(Path::new("")).join(&target) } else { target.into() };
                    links.push((path, normalize_archive_path(&base)));
                }
                continue;
            }
            if kind != tar::EntryType::Regular {
                continue;
            }
            let size = entry.size();
            if path.ends_with(".json") || path == "repositories" || path == "oci-layout" {
                if size > MAX_JSON {
                    return Err(StoreError::invalid(format!("load {what}"), format!("{path} is {size} bytes")));
                }
                let mut b = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut b).map_err(read_err)?;
                json.insert(path, b);
            } else if let Some(hex) = path.strip_prefix("blobs/sha256/") {
                // Named by its digest: stored only if it hashes to that name.
                let digest = Digest::parse(&format!("sha256:{hex}"))?;
                if !self.has_blob(&digest) {
                    self.put_blob(&digest, &mut entry)?;
                }
                blobs.insert(path, Blob { digest, size });
            } else {
                let digest = self.put_unnamed(&mut entry)?;
                blobs.insert(path, Blob { digest, size });
            }
        }
        for (path, target) in links {
            if let Some(b) = blobs.get(&target) {
                let b = Blob { digest: b.digest.clone(), size: b.size };
                blobs.insert(path, b);
            }
        }
        if let Some(index) = json.get("index.json") {
            let index: Value = parse(index, &what, "index.json")?;
            let descs: Vec<Descriptor> = serde_json::from_value(index.get("manifests").cloned().unwrap_or(Value::Null))
                .map_err(|e| StoreError::invalid(format!("load {what}"), format!("index.json: {e}")))?;
            let mut out = Vec::new();
            for d in descs {
                let name = d.annotations.as_ref().and_then(|a| a.get("io.containerd.image.name").or_else(|| a.get("org.opencontainers.image.ref.name")))
                    .filter(|n| n.contains('/') || n.contains(':')).map(|n| normalize(n)).transpose()?;
                let manifest = self.platform_manifest(&d)?;
                self.finish_image(&manifest, &what)?;
                if let Some(n) = &name {
                    self.tag(n, &manifest)?;
                }
                out.push(Loaded { name, digest: manifest.to_string() });
            }
            return Ok(out);
        }
        let Some(manifest_json) = json.get("manifest.json") else {
            return Err(StoreError::invalid(format!("load {what}"), "neither an OCI archive (index.json) nor a docker archive (manifest.json)"));
        };
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct DockerEntry {
            config: String,
            #[serde(default)]
            repo_tags: Option<Vec<String>>,
            layers: Vec<String>,
        }
        let entries: Vec<DockerEntry> = parse(manifest_json, &what, "manifest.json")?;
        let mut out = Vec::new();
        for e in entries {
            let find = |p: &str| blobs.get(p).ok_or_else(|| StoreError::invalid(format!("load {what}"), format!("manifest.json names {p}, which the archive lacks")));
            let config_bytes = match json.get(&e.config) {
                Some(b) => b.clone(),
                None => self.read_blob(&find(&e.config)?.digest)?,
            };
            let config_digest = self.put_bytes(&config_bytes)?;
            let mut layers = Vec::new();
            for l in &e.layers {
                let b = find(l)?;
                let mut head = [0u8; 4];
                let n = self.open_blob(&b.digest)?.read(&mut head).unwrap_or(0);
                let media = match Compression::sniff(&head[..n]) {
                    Compression::None => "application/vnd.oci.image.layer.v1.tar",
                    Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
                    Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
                };
                layers.push(Descriptor { media_type: media.into(), digest: b.digest.to_string(), size: b.size, annotations: None, platform: None });
            }
            let m = Manifest {
                schema_version: 2,
                media_type: Some(MEDIA_OCI_MANIFEST.into()),
                config: Descriptor { media_type: MEDIA_OCI_CONFIG.into(), digest: config_digest.to_string(), size: config_bytes.len() as u64, annotations: None, platform: None },
                layers,
            };
            let bytes = serde_json::to_vec(&m).map_err(|err| StoreError::invalid("manifest", err.to_string()))?;
            let manifest = self.put_bytes(&bytes)?;
            self.finish_image(&manifest, &what)?;
            let tags = e.repo_tags.unwrap_or_default();
            for t in &tags {
                self.tag(&normalize(t)?, &manifest)?;
            }
            if tags.is_empty() {
                out.push(Loaded { name: None, digest: manifest.to_string() });
            }
            for t in &tags {
                out.push(Loaded { name: Some(normalize(t)?), digest: manifest.to_string() });
            }
        }
        Ok(out)
    }

    /// A blob whose digest the archive does not name (docker archives): hashed while stored.
    fn put_unnamed(&self, body: &mut dyn Read) -> Result<Digest> {
        let tmp = self.tmp("blob", false)?;
        let mut w = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, &tmp.file));
        io::copy(body, &mut w).map_err(|e| StoreError::io("write blob", &tmp.path, &e))?;
        let (buf, digest) = w.finish();
        buf.into_inner().map_err(|e| StoreError::io("write blob", &tmp.path, e.error()))?;
        tmp.file.sync_all().map_err(|e| StoreError::io("fsync", &tmp.path, &e))?;
        let dest = self.blob_path(&digest);
        std::fs::rename(&tmp.path, &dest).map_err(|e| StoreError::io("rename", &dest, &e))?;
        Ok(digest)
    }

    /// An index entry may itself be an index (multi-platform): this machine's manifest from it.
    fn platform_manifest(&self, d: &Descriptor) -> Result<Digest> {
        let digest = d.digest()?;
        if d.media_type != MEDIA_OCI_INDEX && d.media_type != MEDIA_DOCKER_LIST {
            return Ok(digest);
        }
        let index: Value = parse(&self.read_blob(&digest)?, &digest.to_string(), "index")?;
        let arch = crate::platform_arch();
        let pick = index.get("manifests").and_then(Value::as_array).into_iter().flatten().find(|m| {
            m.pointer("/platform/os").and_then(Value::as_str) == Some("linux") && m.pointer("/platform/architecture").and_then(Value::as_str) == Some(arch)
        });
        let pick = pick.ok_or_else(|| StoreError::invalid(format!("index {digest}"), format!("no image for linux/{arch}")))?;
        Ok(Digest::parse(pick.get("digest").and_then(Value::as_str).unwrap_or(""))?)
    }

    /// Every blob of the image is stored; each layer unpacked, its diff id the config's.
    pub fn finish_image(&self, manifest: &Digest, what: &str) -> Result<()> {
        let m = self.manifest(manifest)?;
        let config = self.config(&m)?;
        let want = diff_ids(&config, manifest)?;
        if want.len() != m.layers.len() {
            return Err(StoreError::invalid(format!("image {manifest}"), format!("{} layers but {} diff ids in the config", m.layers.len(), want.len())));
        }
        for (l, want) in m.layers.iter().zip(&want) {
            let blob = l.digest()?;
            if !self.has_blob(&blob) {
                return Err(StoreError::invalid(format!("load {what}"), format!("layer {blob} is missing from the archive")));
            }
            let got = self.unpack_layer(&blob, Compression::from_media_type(&l.media_type)?)?;
            want.expect(&got, &format!("diff id of layer {blob}"))?;
        }
        Ok(())
    }
}

/// `a/../b/./c` → `b/c` (a link's target inside the archive; nothing here touches the filesystem).
fn normalize_archive_path(p: &Path) -> String {
    let mut out: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out.join("/")
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str, file: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::invalid(format!("load {what}"), format!("{file}: {e}")))
}

pub(crate) fn oci_index(entries: &[(String, Digest, u64)]) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_INDEX,
        "manifests": entries.iter().map(|(name, d, size)| json!({
            "mediaType": MEDIA_OCI_MANIFEST, "digest": d.to_string(), "size": size,
            "annotations": { "org.opencontainers.image.ref.name": name, "io.containerd.image.name": name },
        })).collect::<Vec<_>>(),
    })
}
