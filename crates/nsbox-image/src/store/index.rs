//! index.json: which manifest each name (a normalized reference, `docker.io/library/alpine:latest`)
//! points at. Read-modify-write under index.lock, replaced atomically: a reader never sees it torn.

use std::collections::BTreeMap;
use std::fs;

use serde::{Deserialize, Serialize};

use super::{lock_file, Result, Store, StoreError};
use crate::digest::Digest;

#[derive(Default, Serialize, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub names: BTreeMap<String, String>,
}

impl Index {
    pub fn digest_of(&self, name: &str) -> Option<Digest> {
        self.names.get(name).and_then(|d| Digest::parse(d).ok())
    }

    /// Names pointing at `manifest`.
    pub fn names_of(&self, manifest: &Digest) -> Vec<String> {
        let m = manifest.to_string();
        self.names.iter().filter(|(_, d)| **d == m).map(|(n, _)| n.clone()).collect()
    }

    pub fn manifests(&self) -> Vec<Digest> {
        let mut v: Vec<Digest> = self.names.values().filter_map(|d| Digest::parse(d).ok()).collect();
        v.sort();
        v.dedup();
        v
    }
}

impl Store {
    pub fn read_index(&self) -> Result<Index> {
        let p = self.root.join("index.json");
        match fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| StoreError::invalid(p.display().to_string(), e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(StoreError::io("read", &p, &e)),
        }
    }

    /// Changes the index under its lock; `f` returns what the caller gets back.
    pub fn update_index<T>(&self, f: impl FnOnce(&mut Index) -> Result<T>) -> Result<T> {
        let _lock = lock_file(&self.root.join("index.lock"), libc::LOCK_EX)?;
        let mut idx = self.read_index()?;
        let out = f(&mut idx)?;
        let bytes = serde_json::to_vec_pretty(&idx).map_err(|e| StoreError::invalid("index.json", e.to_string()))?;
        self.write_small("index.json", &bytes)?;
        Ok(out)
    }

    /// Points `name` at a stored manifest (whose config and layers must be stored too).
    pub fn tag(&self, name: &str, manifest: &Digest) -> Result<()> {
        if !self.has_blob(manifest) {
            return Err(StoreError::invalid(format!("tag {name}"), format!("manifest {manifest} is not in the store")));
        }
        self.update_index(|idx| {
            idx.names.insert(name.to_owned(), manifest.to_string());
            Ok(())
        })
    }
}
