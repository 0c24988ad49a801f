//! Seccomp for nsbox, in two layers, as docker does it:
//!
//! 1. [`profile`] (pure Rust, always built): docker's seccomp profile JSON, nsbox's default profile
//!    (docker's default semantics), and [`profile::to_oci`], which resolves a profile's
//!    capability/architecture/kernel conditions for one container into the OCI spec's
//!    `linux.seccomp` — what dockerd does before it hands the config to runc.
//! 2. [`filter`] (cargo feature `apply`, links libseccomp): OCI `linux.seccomp` → a libseccomp filter,
//!    built and checked in [`filter::compile`] (before clone), installed by [`filter::Compiled::load`].
//!
//! [`listener`] hands a `SCMP_ACT_NOTIFY` listener fd to the seccomp agent at `listenerPath`, as
//! the runtime spec describes; it needs no libseccomp and is always built.

pub mod listener;
pub mod profile;

#[cfg(feature = "apply")]
pub mod filter;

pub use profile::{default_profile, to_oci, Profile, ProfileError};

/// `EPERM`, as errors show an errno (the same text nsbox-core's wire errors use).
pub fn errno_name(errno: nix::errno::Errno) -> String {
    format!("{errno:?}")
}
