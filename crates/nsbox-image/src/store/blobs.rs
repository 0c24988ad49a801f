//! Blobs: streamed into a tmp file, hashed on the way, fsynced, and renamed into blobs/sha256/
//! only when the bytes hashed to the digest asked for.

use std::fs;
use std::io::{self, BufWriter, Read};

use super::{lock_file, Result, Store, StoreError};
use crate::digest::{Digest, HashingWriter};

impl Store {
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Stores `body` as the blob `expected`; a mismatch or a short stream stores nothing. Under the
    /// blob's flock (locks/<hex>, the one its unpacking takes): a second pull or load of the same blob,
    /// in any process, waits for the first and returns without reading its body once a verified copy
    /// is in place (blobs are renamed in only after they verified).
    pub fn put_blob(&self, expected: &Digest, body: &mut dyn Read) -> Result<u64> {
        let lock_path = self.root.join("locks").join(expected.hex());
        let _lock = lock_file(&lock_path, libc::LOCK_EX)?;
        let dest = self.blob_path(expected);
        if let Ok(m) = fs::metadata(&dest) {
            if m.is_file() {
                return Ok(m.len());
            }
        }
        let tmp = self.tmp("blob", false)?;
        let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, &tmp.file));
        io::copy(body, &mut w).map_err(|e| StoreError::io("write blob", &tmp.path, &e))?;
        let size = w.written();
        let (buf, actual) = w.finish();
        buf.into_inner().map_err(|e| StoreError::io("write blob", &tmp.path, e.error()))?;
        expected.expect(&actual, &format!("blob {expected}"))?;
        tmp.file.sync_all().map_err(|e| StoreError::io("fsync", &tmp.path, &e))?;
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


#[cfg(test)]
mod tests {
    use super::*;

    /// A body that must not be read: the verified copy already stored is enough.
    struct Untouchable;
    impl Read for Untouchable {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("read although the blob is stored"))
        }
    }

    #[test]
    fn a_stored_blob_is_not_read_again_and_a_bad_one_is_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let store = Store::open(Some(dir)).unwrap();
        let bytes = b"hello blob";
        let d = Digest::of(bytes);
        assert_eq!(store.put_blob(&d, &mut &bytes[..]).unwrap(), bytes.len() as u64);
        assert_eq!(store.put_blob(&d, &mut Untouchable).unwrap(), bytes.len() as u64);
        let other = Digest::of(b"other");
        assert!(matches!(store.put_blob(&other, &mut &bytes[..]), Err(StoreError::Digest(_))));
        assert!(!store.has_blob(&other));
        assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        let (mut r, len) = crate::registry::BlobSource::open_blob(&store, &d).unwrap();
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!((back.as_slice(), len), (&bytes[..], bytes.len() as u64));
    }
}
