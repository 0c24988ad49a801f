//! Creating and driving one container: the OCI config read into a plan (`spec/`), the clone and
//! the parent–child handshake (`create/`), the root filesystem (`rootfs/`), the container's
//! process (`process/`), the state root (`state/`), the commands on containers (`ops/`) and the
//! sealed re-exec that keeps the runtime's executable out of the containers' reach (`sealed`).
//! Everything here runs in the single-threaded nsbox-runtime; the monitor (nsbox-monitor) builds
//! on it for detached containers.

pub mod control;
pub mod create;
pub mod error;
pub mod ops;
pub mod process;
mod rootfs;
/// An image container's writable layer, removed with the container (`delete`, the monitor's `--rm`).
pub use rootfs::layer::remove_layer as remove_container_layer;
pub use rootfs::layer::is_layer_of as container_layer_of;
pub mod sealed;
pub mod seccomp;
pub mod spec;
pub mod state;
mod syscalls;

pub use error::{ContainerError, Result};
