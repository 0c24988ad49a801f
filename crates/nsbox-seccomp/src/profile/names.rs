//! The words a profile is written in: actions, operators, architectures (libseccomp's names and
//! the Go names docker's `arches` conditions use), and filter flags.

use std::str::FromStr;

use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompOperator};
use serde::{Serialize, Serializer};

/// `flags[]`. A separate type from oci-spec's `LinuxSeccompFilterFlag` because oci-spec 0.8 lacks
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, which the runtime spec lists: we read it, and
/// [`super::to_oci`] refuses it by name rather than dropping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    Tsync,
    Log,
    SpecAllow,
    WaitKillableRecv,
}

impl Flag {
    pub const ALL: [Flag; 4] = [Flag::Tsync, Flag::Log, Flag::SpecAllow, Flag::WaitKillableRecv];

    pub fn name(self) -> &'static str {
        match self {
            Flag::Tsync => "SECCOMP_FILTER_FLAG_TSYNC",
            Flag::Log => "SECCOMP_FILTER_FLAG_LOG",
            Flag::SpecAllow => "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            Flag::WaitKillableRecv => "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        }
    }

    pub fn from_name(name: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `SCMP_ACT_ALLOW` → the action; `None` for anything else (no case folding: docker has none).
pub fn action(name: &str) -> Option<LinuxSeccompAction> {
    LinuxSeccompAction::from_str(name).ok()
}

pub fn operator(name: &str) -> Option<LinuxSeccompOperator> {
    LinuxSeccompOperator::from_str(name).ok()
}

pub fn arch(name: &str) -> Option<Arch> {
    Arch::from_str(name).ok()
}

/// The name a value serializes to (`SCMP_ACT_ERRNO`), for messages.
pub fn name_of<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// Go's `GOARCH` names (and the few extra words docker's profiles use) accepted in
/// `includes.arches` / `excludes.arches`. Anything else is refused: docker would silently never
/// match a misspelt `x86_64` there, which turns an allow rule off without a word.
pub const GO_ARCHES: [&str; 21] = [
    "386", "x86", "amd64", "x32", "arm", "arm64", "loong64", "mips", "mipsle", "mips64", "mips64le",
    "mips64n32", "mips64len32", "ppc", "ppc64", "ppc64le", "riscv64", "s390", "s390x", "parisc",
    "parisc64",
];

/// The Go names that stand for this architecture in `arches` conditions. docker compares them with
/// the daemon's `runtime.GOARCH`, i.e. the host's main architecture, never a sub-architecture.
pub fn go_arch_name(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::ScmpArchNative => go_arch_name(native_arch()),
        Arch::ScmpArchX86 => &["386", "x86"],
        Arch::ScmpArchX86_64 => &["amd64"],
        Arch::ScmpArchX32 => &["x32"],
        Arch::ScmpArchArm => &["arm"],
        Arch::ScmpArchAarch64 => &["arm64"],
        Arch::ScmpArchMips => &["mips"],
        Arch::ScmpArchMips64 => &["mips64"],
        Arch::ScmpArchMips64n32 => &["mips64n32"],
        Arch::ScmpArchMipsel => &["mipsle"],
        Arch::ScmpArchMipsel64 => &["mips64le"],
        Arch::ScmpArchMipsel64n32 => &["mips64len32"],
        Arch::ScmpArchPpc => &["ppc"],
        Arch::ScmpArchPpc64 => &["ppc64"],
        Arch::ScmpArchPpc64le => &["ppc64le"],
        Arch::ScmpArchS390 => &["s390"],
        Arch::ScmpArchS390x => &["s390x"],
        Arch::ScmpArchRiscv64 => &["riscv64"],
    }
}

/// The architecture this crate was built for, as the seccomp architecture token.
pub fn native_arch() -> Arch {
    if cfg!(target_arch = "x86_64") {
        Arch::ScmpArchX86_64
    } else if cfg!(target_arch = "aarch64") {
        Arch::ScmpArchAarch64
    } else if cfg!(target_arch = "x86") {
        Arch::ScmpArchX86
    } else if cfg!(target_arch = "arm") {
        Arch::ScmpArchArm
    } else if cfg!(target_arch = "riscv64") {
        Arch::ScmpArchRiscv64
    } else if cfg!(target_arch = "s390x") {
        Arch::ScmpArchS390x
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        Arch::ScmpArchPpc64le
    } else {
        // Left to libseccomp, which knows the host it runs on.
        Arch::ScmpArchNative
    }
}

/// Whether `name` (`CAP_SYS_ADMIN`) is a capability the kernel has; the caps crate keeps the list,
/// so this crate does not depend on nsbox-core's (nsbox-core depends on this one).
pub fn is_capability(name: &str) -> bool {
    name.parse::<caps::Capability>().is_ok()
}
