//! The store behind the registry client: a pull writes through [`BlobSink`], a push reads through
//! [`BlobSource`]; neither sees the layout on disk.

use crate::digest::Digest;
use crate::unpack::Compression;
use crate::registry::BlobSource;
use crate::{BlobSink, SinkError};

use super::Store;

impl BlobSink for Store {
    fn has_blob(&self, digest: &Digest) -> bool {
        Store::has_blob(self, digest)
    }

    fn put_blob(&self, digest: &Digest, body: &mut dyn std::io::Read) -> Result<(), SinkError> {
        Store::put_blob(self, digest, body).map(drop).map_err(Into::into)
    }

    fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, SinkError> {
        Store::read_blob(self, digest).map_err(Into::into)
    }

    fn unpack_layer(&self, digest: &Digest, media_type: &str) -> Result<Digest, SinkError> {
        let c = Compression::from_media_type(media_type).map_err(super::StoreError::from)?;
        Store::unpack_layer(self, digest, c).map_err(Into::into)
    }

    fn tag(&self, reference: &str, manifest: &Digest) -> Result<(), SinkError> {
        Store::tag(self, reference, manifest).map_err(Into::into)
    }

    fn note_source(&self, digest: &Digest, repository: &str) -> Result<(), SinkError> {
        Store::note_source(self, digest, repository).map_err(Into::into)
    }

    fn sources(&self, digest: &Digest) -> Vec<String> {
        Store::sources(self, digest)
    }
}

/// A push reads the image out of the store through this.
impl BlobSource for Store {
    fn resolve(&self, reference: &str) -> Result<Digest, SinkError> {
        Store::resolve(self, reference).map_err(Into::into)
    }

    fn open_blob(&self, digest: &Digest) -> Result<(Box<dyn std::io::Read + Send>, u64), SinkError> {
        let f = Store::open_blob(self, digest)?;
        let path = self.blob_path(digest);
        let len = f.metadata().map_err(|e| super::StoreError::io("stat blob", &path, &e))?.len();
        Ok((Box::new(std::io::BufReader::with_capacity(1 << 20, f)), len))
    }
}
