//! The devices cgroup, kernel side: which device nodes a container may create (`m`), read (`r`)
//! and write (`w`). Without rules a container's root, which holds CAP_MKNOD, can `mknod` the host's
//! disk and open it.
//!
//! One rule list (`nsbox_core::devices::DeviceRule`s, built from OCI or docker's options by the
//! pure code in nsbox-core, usually starting from `DOCKER_DEFAULT_RULES`) is enforced in whichever
//! ways the host offers:
//! - cgroup v1: [`apply_v1`] writes the rules to the container's `devices` cgroup;
//! - cgroup v2: there are no devices files; [`attach`] loads a `BPF_PROG_TYPE_CGROUP_DEVICE`
//!   program generated from the same list and attaches it to the container's cgroup2 directory.
//!
//! On a hybrid host (v1 controllers, devices among them, plus a cgroup2 mount without
//! controllers, e.g. at /sys/fs/cgroup/unified) nsbox applies BOTH. The kernel's single check,
//! `devcgroup_check_permission`, first runs the cgroup2 BPF programs of the task's cgroup2 cgroup
//! and its ancestors, then the v1 devices cgroup's list, and an access must pass both; a cgroup2
//! directory accepts device programs whether or not any controller is enabled there. Applying both
//! means the container is confined whichever of them a later tool or an administrator changes,
//! and the tests show each one alone denies (and both together do).

mod apply;
mod bpf;
mod error;
mod insn;
mod program;
mod v1;

#[cfg(test)]
mod kernel_tests;

pub use apply::{apply_to_cgroups, Applied};
pub use bpf::{attach, attached_program_ids, replace_all, AttachedDeviceFilter};
pub use error::DeviceCgroupError;
pub use insn::{Insn, RawInsn, Reg};
pub use program::compile;
pub use v1::{apply_v1, expected_list, read_list};
