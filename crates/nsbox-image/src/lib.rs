//! Images: references, a content-addressed store under /var/lib/nsbox (rootless: $XDG_DATA_HOME/nsbox),
//! layers unpacked once and shared, and the registry client that fills the store. The store is the only
//! writer of its directory; a pull reaches it through [`BlobSink`], so the registry side never knows the
//! layout on disk.

pub mod digest;
pub mod reference;
pub mod registry;
pub mod store;
pub mod unpack;

pub use digest::{Digest, DigestError};
pub use reference::{Reference, ReferenceError};
pub use store::{Store, StoreError};
/// This machine's architecture in the OCI/Go spelling (`amd64`, `arm64`), for picking from indexes.
pub fn platform_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Boxed so the registry code and the store keep their own error enums.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// What a pull needs from the store (the store implements it).
pub trait BlobSink: Send + Sync {
    /// A verified copy of this blob is already stored.
    fn has_blob(&self, digest: &Digest) -> bool;
    /// Streams a blob in; it becomes visible only once its bytes hashed to `digest` (a mismatch, a
    /// short read or a kill part-way leaves nothing a later pull or run would trust).
    fn put_blob(&self, digest: &Digest, body: &mut dyn std::io::Read) -> Result<(), SinkError>;
    /// A stored blob's bytes (manifests, indexes and configs: small).
    fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, SinkError>;
    /// Unpacks a stored layer blob once (gzip, zstd or plain tar by `media_type`) and returns its diff id
    /// (the digest of the uncompressed tar), checked against the image config's rootfs.diff_ids by the caller.
    fn unpack_layer(&self, digest: &Digest, media_type: &str) -> Result<Digest, SinkError>;
    /// Points a normalized reference (`docker.io/library/alpine:latest`) at a stored manifest.
    fn tag(&self, reference: &str, manifest: &Digest) -> Result<(), SinkError>;
    /// Records that a registry repository (`host/name`) holds this blob (a later push may mount it
    /// from there). A hint: sinks that keep no such record ignore it.
    fn note_source(&self, _digest: &Digest, _repository: &str) -> Result<(), SinkError> {
        Ok(())
    }
    /// Repositories (`host/name`) the blob is known to exist in.
    fn sources(&self, _digest: &Digest) -> Vec<String> {
        Vec::new()
    }
}
