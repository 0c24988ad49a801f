//! The OCI distribution API client: pull into a [`BlobSink`], push out of a [`BlobSource`], log in.
//!
//! Blocking HTTP (ureq) on plain threads rather than an async client: the store takes a `std::io::Read`
//! (`BlobSink::put_blob`), so a response body streams straight into the store's verifying writer with no
//! async bridge, the addon runs a pull on a thread of its own, and three downloader threads give docker's
//! parallelism. Every byte is checked: manifests against the digest they were asked by (or the one the
//! registry announced), blobs by `put_blob`, layers' uncompressed digests against the config's diff_ids.

pub mod auth;
mod cidr;
pub mod config;
mod manifest;
mod pull;
mod push;
mod tls;
mod transport;

use crate::digest::Digest;
use crate::reference::ReferenceError;
use crate::{BlobSink, SinkError};

pub use auth::{login, logout, AuthFiles, Credentials};
pub use config::RegistriesConfig;
pub use manifest::Platform;
pub use pull::{pull, PullOptions, PullResult, PulledLayer};
pub use push::{push, PushOptions, PushResult};

/// What a push needs from the store besides [`BlobSink`] (the store implements both).
pub trait BlobSource: BlobSink {
    /// The manifest a normalized reference points at.
    fn resolve(&self, reference: &str) -> Result<Digest, SinkError>;
    /// A stored blob as a stream, with its size (layers can be large).
    fn open_blob(&self, digest: &Digest) -> Result<(Box<dyn std::io::Read + Send>, u64), SinkError>;
}

/// Progress of one pull or push, for bars and docker's status lines.
#[derive(Debug, Clone)]
pub enum Progress {
    /// The manifest is known: these layers (digest, size) follow, in order.
    Resolved { reference: String, digest: Digest, layers: Vec<(Digest, u64)> },
    /// One layer (or the config) moved on.
    Layer { digest: Digest, state: LayerState, current: u64, total: u64 },
    /// A push mounted the blob from another repository of the registry (`from`: `team/base`), docker's
    /// "Mounted from team/base"; its state is [`LayerState::Mounted`].
    Mounted { digest: Digest, from: String, size: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerState {
    Waiting,
    AlreadyExists,
    Downloading,
    Extracting,
    Complete,
    Pushing,
    Pushed,
    /// A push mounted the blob from another repository of the registry: nothing uploaded.
    Mounted,
}

impl LayerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::AlreadyExists => "exists",
            Self::Downloading => "downloading",
            Self::Extracting => "extracting",
            Self::Complete => "complete",
            Self::Pushing => "pushing",
            Self::Pushed => "pushed",
            Self::Mounted => "mounted",
        }
    }
}

pub type ProgressFn = std::sync::Arc<dyn Fn(Progress) + Send + Sync>;

/// Every failure names the reference (and the digest, the registry) it is about.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("{reference}: manifest unknown: {detail}")]
    NotFound { reference: String, detail: String },
    #[error("{reference}: pull access denied: repository does not exist or may require 'nsbox login': {detail}")]
    Denied { reference: String, detail: String },
    #[error("{reference}: unauthorized: incorrect username or password for {registry}: {detail}")]
    Unauthorized { reference: String, registry: String, detail: String },
    #[error("{reference}: registry {registry} refused {op}: HTTP {status}: {detail}")]
    Refused { reference: String, registry: String, op: String, status: u16, detail: String },
    #[error("{reference}: registry {registry}: TLS certificate {detail} ({hint})")]
    Certificate { reference: String, registry: String, detail: String, hint: String },
    #[error("{reference}: registry {registry} unreachable: {detail}")]
    Unreachable { reference: String, registry: String, detail: String },
    #[error("{reference}: {what} {expected} is corrupt: its content hashes to {actual}")]
    Corrupt { reference: String, what: String, expected: Digest, actual: String },
    #[error("{reference}: {detail}")]
    Manifest { reference: String, detail: String },
    #[error("{reference}: no matching manifest for {platform} in the manifest list entries (has: {available})")]
    Platform { reference: String, platform: String, available: String },
    #[error("{reference}: image was found but does not match the specified platform: wanted {wanted}, actual: {actual}")]
    PlatformMismatch { reference: String, wanted: String, actual: String },
    #[error("{reference}: store: {op} {digest}: {source}")]
    Store { reference: String, op: &'static str, digest: String, source: SinkError },
    #[error("{reference}: cancelled")]
    Cancelled { reference: String },
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: String, source: std::io::Error },
    #[error("{path}: {detail}")]
    Config { path: String, detail: String },
    #[error("credential helper {helper} for {registry}: {detail}")]
    Helper { helper: String, registry: String, detail: String },
    #[error("unsupported {what}: {detail}")]
    Unsupported { what: String, detail: String },
}

impl RegistryError {
    /// A short stable code the addon passes on as the error's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Reference(_) => "ERR_INVALID_REFERENCE",
            Self::NotFound { .. } => "ERR_IMAGE_NOT_FOUND",
            Self::Denied { .. } => "ERR_REGISTRY_DENIED",
            Self::Unauthorized { .. } => "ERR_REGISTRY_UNAUTHORIZED",
            Self::Refused { .. } => "ERR_REGISTRY_REFUSED",
            Self::Unreachable { .. } => "ERR_REGISTRY_UNREACHABLE",
            Self::Certificate { .. } => "ERR_REGISTRY_CERTIFICATE",
            Self::Corrupt { .. } => "ERR_DIGEST_MISMATCH",
            Self::Manifest { .. } | Self::Platform { .. } | Self::PlatformMismatch { .. } | Self::Unsupported { .. } => "ERR_IMAGE_MANIFEST",
            Self::Store { .. } => "ERR_IMAGE_STORE",
            Self::Cancelled { .. } => "ABORT_ERR",
            Self::Io { .. } | Self::Config { .. } | Self::Helper { .. } => "ERR_REGISTRY_CONFIG",
        }
    }

    /// Whether a mirror failing this way should hand over to the next endpoint (docker falls back on
    /// everything but a verified corruption or the caller's cancel).
    fn falls_back(&self) -> bool {
        !matches!(self, Self::Corrupt { .. } | Self::Cancelled { .. } | Self::Store { .. })
    }
}
