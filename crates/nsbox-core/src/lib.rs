//! Pieces shared by the runtime executable and the Node addon: the wire error, id maps, namespace
//! kinds, the user-facing run options and how they become an OCI runtime-spec config.

pub mod devices;
pub mod error;
pub mod idmap;
pub mod namespaces;
pub mod options;
pub mod protocol;
pub mod resources;
pub mod spec;

pub use error::WireError;
