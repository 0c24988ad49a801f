//! Layers: a stored layer blob unpacked into tmp/, renamed to layers/<diff id>/ once unpacking
//! succeeded (and the blob hashed to its digest again on the way), under a per-blob flock so that
//! concurrent pulls and loads of one layer unpack it once.

use std::fs;
use std::io;

use super::{lock_file, Result, Store, StoreError};
use crate::digest::{Digest, HashingReader};
use crate::unpack::{self, Compression, Owners};

impl Store {
    /// The diff id a blob was unpacked to, when its layer directory exists.
    pub fn unpacked(&self, blob: &Digest) -> Option<Digest> {
        let text = fs::read_to_string(self.root.join("diffids").join(blob.hex())).ok()?;
        let d = Digest::parse(text.trim()).ok()?;
        self.layer_path(&d).is_dir().then_some(d)
    }

    pub fn unpack_layer(&self, blob: &Digest, compression: Compression) -> Result<Digest> {
        let lock_path = self.root.join("locks").join(blob.hex());
        let _lock = lock_file(&lock_path, libc::LOCK_EX)?;
        if let Some(d) = self.unpacked(blob) {
            return Ok(d);
        }
        let diff_id = if self.owners == Owners::Mapped && !nix::unistd::geteuid().is_root() {
            self.helper_unpack(blob, compression)?
        } else {
            self.unpack_into_layers(blob, compression)?
        };
        self.write_small(&format!("diffids/{}", blob.hex()), diff_id.to_string().as_bytes())?;
        Ok(diff_id)
    }

    /// Unpacks into tmp/ and renames into layers/ (the caller holds the blob's lock): in this
    /// process, or in `nsbox-runtime unpack-layer` inside the store's user namespace.
    pub fn unpack_into_layers(&self, blob: &Digest, compression: Compression) -> Result<Digest> {
        let mut tmp = self.tmp("layer", true)?;
        let mut body = HashingReader::new(io::BufReader::with_capacity(1 << 20, self.open_blob(blob)?));
        let (diff_id, notes) = unpack::unpack(&mut body, compression, &tmp.path, self.owners).map_err(|err| StoreError::Layer { layer: blob.clone(), err })?;
        io::copy(&mut body, &mut io::sink()).map_err(|e| StoreError::io("read blob", self.blob_path(blob), &e))?;
        blob.expect(&body.finish(), &format!("layer blob {blob}"))?;
        let dest = self.layer_path(&diff_id);
        if !dest.is_dir() {
            fs::rename(&tmp.path, &dest).map_err(|e| StoreError::io("rename", &dest, &e))?;
            tmp.keep = true;
            self.sync_dir("layers");
        }
        // What rootless unpacking left out is said once, when the layer is unpacked (docs/images.md).
        for n in notes {
            eprintln!("nsbox: note: layer {blob}: {n}");
        }
        Ok(diff_id)
    }

    /// A small file replaced atomically (tmp + fsync + rename).
    pub(crate) fn write_small(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let tmp = self.tmp("file", false)?;
        io::Write::write_all(&mut &tmp.file, bytes).map_err(|e| StoreError::io("write", &tmp.path, &e))?;
        tmp.file.sync_all().map_err(|e| StoreError::io("fsync", &tmp.path, &e))?;
        let dest = self.root.join(rel);
        fs::rename(&tmp.path, &dest).map_err(|e| StoreError::io("rename", &dest, &e))?;
        Ok(())
    }
}
