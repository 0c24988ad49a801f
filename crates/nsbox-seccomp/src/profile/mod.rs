//! docker's seccomp profile format (the JSON `docker run --security-opt seccomp=FILE` reads), our
//! default profile, and its resolution into OCI `linux.seccomp` for one container.
//!
//! The types serialize back to the same JSON (so a profile can be written out and read again), but
//! are read by [`parse`]'s own walker rather than serde's derive: a bad profile must name the field
//! it is wrong in (`syscalls[3].args[0].op: unknown operator "SCMP_CMP_FOO"`).

mod default;
mod error;
pub(crate) mod names;
mod parse;
mod resolve;

use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompOperator};
use serde::{Serialize, Serializer};

pub use default::{default_profile, DEFAULT_PROFILE_JSON};
pub use error::ProfileError;
pub use names::{go_arch_name, native_arch, Flag, GO_ARCHES};
pub use parse::parse;
pub use resolve::{to_oci, to_oci_for, KernelVersion};

/// A whole profile. `architectures` and `archMap` are exclusive (docker refuses both at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: LinuxSeccompAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// The legacy form: these architectures whatever the host is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<Arch>,
    /// The form docker's own profile uses: the host's architecture picks its entry, and the filter
    /// covers it and its sub-architectures (x86_64 → also i386 and x32).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMap>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    pub syscalls: Vec<SyscallRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: Arch,
    pub sub_architectures: Vec<Arch>,
}

/// One entry of `syscalls[]`: an action for some names, maybe only for some argument values, and
/// maybe only for containers with (or without) some capabilities, architectures or kernels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    pub names: Vec<String>,
    pub action: LinuxSeccompAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Condition::is_empty")]
    pub includes: Condition,
    #[serde(skip_serializing_if = "Condition::is_empty")]
    pub excludes: Condition,
}

/// One argument comparison. For `SCMP_CMP_MASKED_EQ`, `value` is the mask and `valueTwo` what the
/// masked argument must equal (libseccomp's and runc's reading); other operators ignore `valueTwo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgRule {
    pub index: u32,
    pub value: u64,
    pub value_two: u64,
    pub op: LinuxSeccompOperator,
}

/// `includes` / `excludes`. In `includes` every listed capability is needed and the architecture
/// and kernel must match; in `excludes` any one listed capability, the architecture, or a kernel at
/// least `minKernel` drops the rule (docker's reading).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    /// Go architecture names, as docker writes them: `amd64`, `arm64`, `386`, `x32`, ...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_kernel")]
    pub min_kernel: Option<KernelVersion>,
}

impl Condition {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

fn ser_kernel<S: Serializer>(v: &Option<KernelVersion>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(k) => s.serialize_str(&k.to_string()),
        None => s.serialize_none(),
    }
}

impl Profile {
    /// Reads a profile (docker's JSON format); every error names the field it is about.
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        parse(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a profile always serializes")
    }
}
