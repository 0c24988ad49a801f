//! Blobs: streamed into a tmp file, hashed on the way, fsynced, and renamed into blobs/sha256/
//! only when the bytes hashed to the digest asked for.

use std::fs;
use std::io::{self, BufWriter, Read};

use super::{Result, Store, StoreError};
use crate::digest::{Digest, HashingWriter};

impl Store {
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Stores `body` as the blob `expected`; a mismatch or a short stream stores nothing.
    pub fn put_blob(&self, expected: &Digest, body: &mut dyn Read) -> Result<u64> {
        let tmp = self.tmp("blob", false)?;
        let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, &tmp.file));
        io::copy(body, &mut w).map_err(|e| StoreError::io("write blob", &tmp.path, &e))?;
        let size = w.written();
        let (buf, actual) = w.finish();
        buf.into_inner().map_err(|e| StoreError::io("write blob", &tmp.path, e.error()))?;
        expected.expect(&actual, &format!("blob {expected}"))?;
        tmp.file.sync_all().map_err(|e| StoreError::io("fsync", &tmp.path, &e))?;
        let dest = self.blob_path(expected);
        fs::rename(&tmp.path, &dest).map_err(|e| StoreError::io("rename", &dest, &e))?;
        Ok(size)
    }

    /// Stores bytes made here (a manifest written by `load`); returns their digest.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        let d = Digest::of(bytes);
        if !self.has_blob(&d) {
            self.put_blob(&d, &mut &bytes[..])?;
        }
        Ok(d)
    }

    /// A small blob's bytes, checked against its digest again (a disk can rot; nothing is trusted).
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>> {
        let p = self.blob_path(d);
        let bytes = fs::read(&p).map_err(|e| StoreError::io("read blob", &p, &e))?;
        d.expect(&Digest::of(&bytes), &format!("stored blob {d}"))?;
        Ok(bytes)
    }

    pub fn open_blob(&self, d: &Digest) -> Result<fs::File> {
        let p = self.blob_path(d);
        fs::File::open(&p).map_err(|e| StoreError::io("open blob", &p, &e))
    }

    pub(crate) fn sync_dir(&self, rel: &str) {
        if let Ok(f) = fs::File::open(self.root.join(rel)) {
            let _ = f.sync_all();
        }
    }
}

