//! rmi and prune: names go from the index, then everything no name and no container reaches is
//! deleted (blobs, unpacked layers, their diffids and locks). Done holding gc.lock exclusive, so no
//! pull or load (each holds it shared) is between writing a blob and naming it meanwhile.

use std::collections::BTreeSet;
use std::fs;

use serde::Serialize;

use super::images::diff_ids;
use super::{flock, normalize, Result, Store, StoreError};
use crate::digest::Digest;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    /// Names taken off (`Untagged:` in docker's output).
    pub untagged: Vec<String>,
    /// Images (manifest digests) no name points at any more (`Deleted:`).
    pub deleted: Vec<String>,
    pub blobs: u32,
    pub layers: u32,
}

struct Exclusive<'a>(&'a Store);

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        let _ = flock(&self.0.gc_lock, &self.0.root.join("gc.lock"), libc::LOCK_SH);
    }
}

impl Store {
    fn exclusive(&self) -> Result<Exclusive<'_>> {
        flock(&self.gc_lock, &self.root.join("gc.lock"), libc::LOCK_EX)?;
        Ok(Exclusive(self))
    }

    /// docker's rmi: a name removes that name; a digest or id removes every name of the image. An
    /// image a container uses (created, running or exited, until removed) stays unless `force`.
    pub fn remove_image(&self, reference: &str, force: bool) -> Result<Removed> {
        let _x = self.exclusive()?;
        let manifest = self.resolve(reference)?;
        let idx = self.read_index()?;
        let all = idx.names_of(&manifest);
        let by_name: Vec<String> = [Some(reference.to_owned()), normalize(reference).ok()].into_iter().flatten().filter(|n| all.contains(n)).take(1).collect();
        let untag = if by_name.is_empty() { all.clone() } else { by_name };
        let last = untag.len() == all.len();
        if last && !force {
            if let Some(users) = self.container_users().get(&manifest) {
                return Err(StoreError::InUse { reference: reference.to_owned(), containers: users.join(", ") });
            }
        }
        self.update_index(|idx| {
            for n in &untag {
                idx.names.remove(n);
            }
            Ok(())
        })?;
        let mut out = self.collect()?;
        out.untagged = untag;
        if last {
            out.deleted.push(manifest.to_string());
        }
        Ok(out)
    }

    /// Frees what nothing uses; with `all`, also the names of images no container uses (prune -a).
    pub fn prune(&self, all: bool) -> Result<Removed> {
        let _x = self.exclusive()?;
        let mut untagged = Vec::new();
        let mut deleted = Vec::new();
        if all {
            let users = self.container_users();
            self.update_index(|idx| {
                let unused: Vec<(String, String)> = idx.names.iter().filter(|(_, d)| Digest::parse(d).map(|d| !users.contains_key(&d)).unwrap_or(true))
                    .map(|(n, d)| (n.clone(), d.clone())).collect();
                for (n, d) in unused {
                    idx.names.remove(&n);
                    untagged.push(n);
                    if !deleted.contains(&d) {
                        deleted.push(d);
                    }
                }
                Ok(())
            })?;
        }
        let mut out = self.collect()?;
        out.untagged = untagged;
        out.deleted = deleted;
        Ok(out)
    }

    /// Deletes blobs and layers no named image and no container reaches. A live image whose
    /// manifest cannot be read stops it: nothing is deleted on a guess.
    fn collect(&self) -> Result<Removed> {
        let mut live_blobs = BTreeSet::new();
        let mut live_layers = BTreeSet::new();
        let mut roots = self.read_index()?.manifests();
        roots.extend(self.container_users().into_keys());
        for m in roots {
            let man = self.manifest(&m)?;
            live_blobs.insert(m.hex().to_owned());
            live_blobs.insert(man.config.digest()?.hex().to_owned());
            for l in &man.layers {
                live_blobs.insert(l.digest()?.hex().to_owned());
            }
            for d in diff_ids(&self.config(&man)?, &m)? {
                live_layers.insert(d.hex().to_owned());
            }
        }
        let mut out = Removed::default();
        for (dir, live, count) in [("blobs/sha256", &live_blobs, &mut out.blobs), ("layers", &live_layers, &mut out.layers)] {
            let path = self.root.join(dir);
            let entries = fs::read_dir(&path).map_err(|e| StoreError::io("read dir", &path, &e))?;
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if live.contains(&name) {
                    continue;
                }
                let p = e.path();
                if dir == "layers" {
                    self.remove_dir(&p)?;
                } else {
                    fs::remove_file(&p).map_err(|err| StoreError::io("remove", &p, &err))?;
                }
                *count += 1;
                if dir != "layers" {
                    let _ = fs::remove_file(self.root.join("diffids").join(&name));
                    let _ = fs::remove_file(self.root.join("sources").join(&name));
                    let _ = fs::remove_file(self.root.join("locks").join(&name));
                }
            }
        }
        Ok(out)
    }
}
