//! The store behind the registry client's [`BlobSink`]: the pull never sees the layout on disk.

use crate::digest::Digest;
use crate::unpack::Compression;
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
}
