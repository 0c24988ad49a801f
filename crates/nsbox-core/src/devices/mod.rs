//! Device rules, pure: which device nodes a container may create (`m`), read (`r`) and write
//! (`w`), as a list of [`DeviceRule`]s built from OCI or docker's options (usually starting from
//! [`DOCKER_DEFAULT_RULES`]), what such a list means ([`permits`]), the one parser for `--device`
//! and `--device-cgroup-rule`, and the stat() of a `--device` host node into an OCI `linux.devices`
//! entry. Here because both the spec builder (this crate, used by the addon) and the runtime need
//! them; the kernel writers (v1 `devices.*` files, the cgroup2 BPF program) are in
//! `nsbox_cgroups::devices`.

mod error;
mod host;
mod parse;
mod rule;

pub use error::DeviceRuleError;
pub use host::{resolve_device_option, stat_device, HostDevice};
pub use parse::{parse_access, parse_cgroup_rule, parse_device, DeviceMapping};
pub use rule::{effective, permits, rules_from_oci, standard_node_rules, Access, DevNum, DeviceKind, DeviceRule, DOCKER_DEFAULT_RULES};
