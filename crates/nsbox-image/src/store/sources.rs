//! Where a blob is known to exist in a registry (`sources/<hex>`: one `registry/repository` a line), so
//! a push to another repository of that registry can mount it instead of uploading it again
//! (docker's "distribution source" metadata, containerd's `containerd.io/distribution.source` labels).
//! Written after a pull verified the blob, or a push saw the registry take or hold it. Only a hint: a
//! registry that no longer has it answers the mount with an upload session, which the push then uses.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use super::{mkdirs, Result, Store, StoreError};
use crate::digest::Digest;

impl Store {
    /// Records that `repository` (`127.0.0.1:5000/team/app`) holds the blob; once per line.
    pub fn note_source(&self, d: &Digest, repository: &str) -> Result<()> {
        if repository.contains('\n') || self.sources(d).iter().any(|s| s == repository) {
            return Ok(());
        }
        let dir = self.root.join("sources");
        mkdirs(&dir, 0o711)?;
        let path = dir.join(d.hex());
        // One short write in append mode: two pushes noting at once cannot interleave within a line.
        let mut f = OpenOptions::new().create(true).append(true).mode(0o644).custom_flags(libc::O_CLOEXEC).open(&path)
            .map_err(|e| StoreError::io("open", &path, &e))?;
        f.write_all(format!("{repository}\n").as_bytes()).map_err(|e| StoreError::io("write", &path, &e))
    }

    /// The repositories the blob is known to exist in, oldest first (none when unknown).
    pub fn sources(&self, d: &Digest) -> Vec<String> {
        fs::read_to_string(self.root.join("sources").join(d.hex()))
            .map(|t| t.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_each_repository_once() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(Some(tmp.path())).unwrap();
        let d = Digest::of(b"layer");
        assert!(store.sources(&d).is_empty());
        store.note_source(&d, "127.0.0.1:5000/a").unwrap();
        store.note_source(&d, "127.0.0.1:5000/b").unwrap();
        store.note_source(&d, "127.0.0.1:5000/a").unwrap();
        assert_eq!(store.sources(&d), ["127.0.0.1:5000/a", "127.0.0.1:5000/b"]);
    }
}
