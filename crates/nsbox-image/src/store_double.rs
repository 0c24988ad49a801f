//! TEST DOUBLE of the content store (the real one is `store/`, written on the imgstore branch): the
//! smallest [`BlobSink`] + [`BlobSource`] that lets the registry side be tested and used end to end
//! before the two halves merge. Blobs under `DIR/blobs/sha256/HEX`, verified while they stream in and
//! renamed into place only when their digest matched; `unpack_layer` decompresses and hashes (it
//! records the diff id, it does not unpack); tags in `DIR/tags/<escaped ref>`. No locking beyond
//! atomic renames. At merge, `nsbox-napi`'s `images::open_store` switches to the real store.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::digest::{Digest, HashingWriter};
use crate::registry::BlobSource;
use crate::{BlobSink, SinkError};

pub struct DirStore {
    root: PathBuf,
}

static TMP: AtomicU64 = AtomicU64::new(0);

impl DirStore {
    pub fn open(root: &Path) -> io::Result<Self> {
        for d in ["blobs/sha256", "tags", "diffids", "tmp"] {
            fs::create_dir_all(root.join(d))?;
        }
        Ok(Self { root: root.to_owned() })
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    fn tag_path(&self, reference: &str) -> PathBuf {
        self.root.join("tags").join(reference.replace('/', "%"))
    }
}

impl BlobSink for DirStore {
    fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).exists()
    }

    fn put_blob(&self, digest: &Digest, body: &mut dyn Read) -> Result<(), SinkError> {
        let tmp = self.root.join("tmp").join(format!("{}-{}-{}", digest.hex(), std::process::id(), TMP.fetch_add(1, Ordering::Relaxed)));
        let result = (|| -> Result<(), SinkError> {
            let mut w = HashingWriter::new(fs::File::create(&tmp)?);
            io::copy(body, &mut w)?;
            let (f, got) = w.finish();
            f.sync_all()?;
            digest.expect(&got, "blob")?;
            fs::rename(&tmp, self.blob_path(digest))?;
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, SinkError> {
        Ok(fs::read(self.blob_path(digest))?)
    }

    fn unpack_layer(&self, digest: &Digest, media_type: &str) -> Result<Digest, SinkError> {
        let f = fs::File::open(self.blob_path(digest))?;
        let mut reader: Box<dyn Read> = if media_type.ends_with("+gzip") || media_type.ends_with(".tar.gzip") {
            Box::new(flate2::read::GzDecoder::new(f))
        } else if media_type.ends_with("+zstd") {
            Box::new(zstd::stream::read::Decoder::new(f)?)
        } else if media_type.ends_with(".tar") {
            Box::new(f)
        } else {
            return Err(format!("unpack {digest}: unsupported media type {media_type:?}").into());
        };
        let mut w = HashingWriter::new(io::sink());
        io::copy(&mut reader, &mut w)?;
        let (_, diff_id) = w.finish();
        fs::write(self.root.join("diffids").join(digest.hex()), diff_id.to_string())?;
        Ok(diff_id)
    }

    fn tag(&self, reference: &str, manifest: &Digest) -> Result<(), SinkError> {
        let tmp = self.root.join("tmp").join(format!("tag-{}-{}", std::process::id(), TMP.fetch_add(1, Ordering::Relaxed)));
        fs::write(&tmp, manifest.to_string())?;
        fs::rename(&tmp, self.tag_path(reference))?;
        Ok(())
    }
}

impl BlobSource for DirStore {
    fn resolve(&self, reference: &str) -> Result<Digest, SinkError> {
        let text = fs::read_to_string(self.tag_path(reference)).map_err(|e| format!("no image {reference} in the store: {e}"))?;
        Ok(Digest::parse(text.trim())?)
    }

    fn open_blob(&self, digest: &Digest) -> Result<(Box<dyn Read + Send>, u64), SinkError> {
        let f = fs::File::open(self.blob_path(digest))?;
        let len = f.metadata()?.len();
        Ok((Box::new(f), len))
    }
}
