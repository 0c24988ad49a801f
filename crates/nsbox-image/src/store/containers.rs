//! A container's writable layer in the store: containers/<id>/ with upper/ and work/ (overlayfs's)
//! and `nsbox-layer`: the container's id on its first line (the runtime removes the layer with the
//! container only when it names the id), the manifest digest it was made from on its second (which
//! rmi and prune read: an image a container uses stays). The directory itself is the config's
//! root.path: the runtime mounts the overlay inside the container's own mount namespace and never
//! on root.path, so no mount point is made. Each inode made here is one more that ext4 without a
//! journal scans past while it is recently deleted (docs/images.md, "Speed"): hence one file and no
//! `merged/`. Layers made before that have a separate `image` file, still read.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::{mkdirs, Result, Store, StoreError};
use crate::digest::Digest;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerLayer {
    pub id: String,
    /// Manifest digest of the image.
    pub image: String,
    /// Config digest (docker's image id).
    pub image_id: String,
    /// Layer directories, top first (overlayfs's lowerdir order).
    pub lowerdirs: Vec<String>,
    pub upperdir: String,
    pub workdir: String,
    pub rootfs: String,
    /// Rootless store: mount the overlay with `userxattr` (its layers carry `user.overlay.*`).
    pub userxattr: bool,
    /// A rootless store with subordinate ids: the container runs with its maps (idmap.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_map: Option<Vec<nsbox_core::idmap::IdMapping>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid_map: Option<Vec<nsbox_core::idmap::IdMapping>>,
    /// The image config (`config.Entrypoint`, `config.Cmd`, …).
    pub config: Value,
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') || id.starts_with('.') {
        return Err(StoreError::invalid(format!("container {id:?}"), "an id is 1-128 characters of [A-Za-z0-9_.-]"));
    }
    Ok(())
}

fn overlay_safe(p: &std::path::Path) -> Result<String> {
    let s = p.to_string_lossy().into_owned();
    // overlayfs's option syntax gives ':' and ',' meanings of their own.
    if s.contains(':') || s.contains(',') {
        return Err(StoreError::invalid(s, "a store path used by overlayfs must not contain ':' or ','"));
    }
    Ok(s)
}

impl Store {
    fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    pub fn create_container_layer(&self, reference: &str, id: &str) -> Result<ContainerLayer> {
        check_id(id)?;
        let manifest = self.resolve(reference)?;
        // Manifest and config read (and hashed) once: this runs before every container start.
        let m = self.manifest(&manifest)?;
        let config = self.config(&m)?;
        let mut lowerdirs = self.layer_dirs_of(&manifest, &config)?.iter().map(|p| overlay_safe(p)).collect::<Result<Vec<_>>>()?;
        lowerdirs.reverse();
        let dir = self.container_dir(id);
        fs::create_dir(&dir).map_err(|e| StoreError::io("mkdir", &dir, &e))?;
        let made = (|| {
            let marker = dir.join("nsbox-layer");
            fs::write(&marker, format!("{id}\n{manifest}\n")).map_err(|e| StoreError::io("write", &marker, &e))?;
            for d in ["upper", "work"] {
                mkdirs(&dir.join(d), 0o755)?;
            }
            Ok(ContainerLayer {
                id: id.to_owned(),
                image: manifest.to_string(),
                image_id: m.config.digest.clone(),
                lowerdirs,
                upperdir: overlay_safe(&dir.join("upper"))?,
                workdir: overlay_safe(&dir.join("work"))?,
                rootfs: dir.display().to_string(),
                userxattr: self.rootless(),
                uid_map: self.maps.as_ref().filter(|m| !m.single()).map(|m| m.uid_map.clone()),
                gid_map: self.maps.as_ref().filter(|m| !m.single()).map(|m| m.gid_map.clone()),
                config,
            })
        })();
        if made.is_err() {
            let _ = self.remove_dir(&dir);
        }
        made
    }

    /// Whether the store at `root` (None: the default) has no writable layer for `id`, without
    /// opening it: after a run the runtime has removed it (or moved it to removing/), and the
    /// caller's own removal, on every container's way out, need not open the store to see that.
    pub fn container_layer_absent(root: Option<&std::path::Path>, id: &str) -> bool {
        let root = root.map(std::path::Path::to_path_buf).unwrap_or_else(super::default_root);
        check_id(id).is_ok() && fs::symlink_metadata(root.join("containers").join(id)).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    }

    /// Removes a container's writable layer; one already gone is no error.
    pub fn remove_container_layer(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let dir = self.container_dir(id);
        self.remove_dir(&dir)
    }

    /// Which containers use which manifest.
    pub fn container_users(&self) -> BTreeMap<Digest, Vec<String>> {
        let mut out: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
        let Ok(entries) = fs::read_dir(self.root.join("containers")) else { return out };
        for e in entries.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let marker = fs::read_to_string(e.path().join("nsbox-layer")).ok();
            let digest = marker.as_deref().and_then(|m| m.lines().nth(1)).map(str::to_owned).or_else(|| fs::read_to_string(e.path().join("image")).ok());
            if let Some(d) = digest.and_then(|s| Digest::parse(s.trim()).ok()) {
                out.entry(d).or_default().push(id);
            }
        }
        out
    }
}
