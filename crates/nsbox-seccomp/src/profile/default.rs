//! nsbox's default profile: docker's default semantics, written for nsbox (`profiles/default.json`).
//!
//! In short: everything not listed fails with EPERM. A normal program's syscalls are allowed;
//! `personality` only for the five values docker allows; `socket` for every family but AF_VSOCK;
//! `clone` only without CLONE_NEW* flags and `clone3` answers ENOSYS (so libc falls back to
//! `clone`), both unless the container has CAP_SYS_ADMIN; `ptrace` and `process_vm_*` from kernel
//! 4.8 on; the administrative calls (mount, unshare, setns, bpf, module loading, reboot, clock
//! setting, ...) only with the capability the kernel would check anyway. Never allowed, whatever
//! the capabilities: keyrings (keyctl, add_key, request_key), io_uring, userfaultfd, pivot_root,
//! kexec, swapon/swapoff, and the obsolete vm86, uselib, ustat, sysfs, _sysctl, nfsservctl.
//! Covers x86_64 with its i386 and x32 ABIs, and aarch64 with 32-bit arm.

use super::{parse, Profile};

/// The profile's JSON, as shipped.
pub const DEFAULT_PROFILE_JSON: &str = include_str!("../../profiles/default.json");

/// The default profile, read from [`DEFAULT_PROFILE_JSON`].
pub fn default_profile() -> Profile {
    // The file is part of the crate and a test reads it; a failure here is a build mistake.
    parse(DEFAULT_PROFILE_JSON).expect("profiles/default.json is a valid profile")
}
