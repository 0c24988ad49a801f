//! A profile for one container: its `includes`/`excludes` conditions decided against the
//! container's capabilities, the host architecture and the kernel, giving plain OCI
//! `linux.seccomp` that any runtime can apply. This is the step dockerd takes before runc.

use std::fmt;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompArg, LinuxSeccompArgBuilder, LinuxSeccompFilterFlag, LinuxSeccompOperator,
    LinuxSyscall, LinuxSyscallBuilder,
};

use super::names::{go_arch_name, native_arch, Flag};
use super::{Condition, Profile, ProfileError, SyscallRule};

type Result<T> = std::result::Result<T, ProfileError>;

/// `MAJOR.MINOR` of a kernel, the precision of docker's `minKernel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl KernelVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        KernelVersion { major, minor }
    }

    /// `"4.8"`, exactly two numbers.
    pub fn parse(s: &str) -> Option<Self> {
        let (major, minor) = s.split_once('.')?;
        let num = |t: &str| (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten();
        Some(KernelVersion { major: num(major)?, minor: num(minor)? })
    }

    /// The leading `MAJOR.MINOR` of a `uname -r` release such as `6.18.44-fc-v1252`.
    pub fn from_release(release: &str) -> Option<Self> {
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(KernelVersion { major, minor })
    }

    /// The running kernel's.
    pub fn running() -> Result<Self> {
        let uts = nix::sys::utsname::uname().map_err(|errno| ProfileError::Sys { op: "uname", errno })?;
        let release = uts.release().to_string_lossy().into_owned();
        KernelVersion::from_release(&release)
            .ok_or_else(|| ProfileError::invalid("kernel release", format!("{release:?} does not start with MAJOR.MINOR")))
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// [`to_oci_for`] on the running kernel.
pub fn to_oci(profile: &Profile, caps: &[String], arch: Arch) -> Result<LinuxSeccomp> {
    to_oci_for(profile, caps, arch, KernelVersion::running()?)
}

/// Resolves `profile` for a container whose bounding set is `caps` (`CAP_SYS_ADMIN` names), on a
/// host of architecture `arch` (`SCMP_ARCH_NATIVE` = the one this crate was built for) running
/// `kernel`. Rules whose conditions fail are dropped; the rest are copied over unchanged.
pub fn to_oci_for(profile: &Profile, caps: &[String], arch: Arch, kernel: KernelVersion) -> Result<LinuxSeccomp> {
    for (i, c) in caps.iter().enumerate() {
        if !crate::profile::names::is_capability(c) {
            return Err(ProfileError::invalid(format!("caps[{i}]"), format!("unknown capability {c:?}")));
        }
    }
    let arch = if arch == Arch::ScmpArchNative { native_arch() } else { arch };
    let host = Host { caps, arch, kernel };

    let mut out = LinuxSeccomp::default();
    out.set_default_action(profile.default_action);
    out.set_default_errno_ret(profile.default_errno_ret);
    let arches = architectures(profile, arch);
    out.set_architectures((!arches.is_empty()).then_some(arches));
    let flags = flags(&profile.flags)?;
    out.set_flags((!flags.is_empty()).then_some(flags));
    out.set_listener_path(profile.listener_path.as_ref().map(Into::into));
    out.set_listener_metadata(profile.listener_metadata.clone());
    let mut syscalls = Vec::new();
    for (i, rule) in profile.syscalls.iter().enumerate() {
        if host.selects(rule) {
            syscalls.push(syscall(rule, i)?);
        }
    }
    out.set_syscalls(Some(syscalls));
    Ok(out)
}

struct Host<'a> {
    caps: &'a [String],
    arch: Arch,
    kernel: KernelVersion,
}

impl Host<'_> {
    fn has_cap(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c == cap)
    }

    fn arch_in(&self, arches: &[String]) -> bool {
        go_arch_name(self.arch).iter().any(|name| arches.iter().any(|a| a == name))
    }

    /// docker's reading: `excludes` drops the rule on any one match; `includes` keeps it only if
    /// every part matches (all its capabilities, the architecture, and a new enough kernel).
    fn selects(&self, rule: &SyscallRule) -> bool {
        !self.any_of(&rule.excludes) && self.all_of(&rule.includes)
    }

    fn any_of(&self, c: &Condition) -> bool {
        c.caps.iter().any(|cap| self.has_cap(cap))
            || (!c.arches.is_empty() && self.arch_in(&c.arches))
            || c.min_kernel.is_some_and(|k| self.kernel >= k)
    }

    fn all_of(&self, c: &Condition) -> bool {
        c.caps.iter().all(|cap| self.has_cap(cap))
            && (c.arches.is_empty() || self.arch_in(&c.arches))
            && c.min_kernel.is_none_or(|k| self.kernel >= k)
    }
}

/// The legacy `architectures` as they are; else the `archMap` entry of the host's architecture
/// with its sub-architectures. No entry for the host leaves the list empty, which means the
/// native architecture alone (docker does the same).
fn architectures(profile: &Profile, arch: Arch) -> Vec<Arch> {
    if !profile.architectures.is_empty() {
        return profile.architectures.clone();
    }
    let mut out = Vec::new();
    for entry in profile.arch_map.iter().filter(|e| e.architecture == arch) {
        out.push(entry.architecture);
        out.extend(entry.sub_architectures.iter().copied());
    }
    out
}

fn flags(flags: &[Flag]) -> Result<Vec<LinuxSeccompFilterFlag>> {
    flags
        .iter()
        .enumerate()
        .map(|(i, f)| match f {
            Flag::Tsync => Ok(LinuxSeccompFilterFlag::SeccompFilterFlagTsync),
            Flag::Log => Ok(LinuxSeccompFilterFlag::SeccompFilterFlagLog),
            Flag::SpecAllow => Ok(LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow),
            // Dropping it would change what the filter does; refusing says why.
            Flag::WaitKillableRecv => Err(ProfileError::invalid(
                format!("flags[{i}]"),
                format!("{} cannot be passed on: oci-spec 0.8's linux.seccomp has no such flag (and libseccomp before 2.6 cannot set it)", f.name()),
            )),
        })
        .collect()
}

fn syscall(rule: &SyscallRule, i: usize) -> Result<LinuxSyscall> {
    let args: Vec<LinuxSeccompArg> = rule
        .args
        .iter()
        .map(|a| {
            let mut b = LinuxSeccompArgBuilder::default().index(a.index as usize).value(a.value).op(a.op);
            if a.op == LinuxSeccompOperator::ScmpCmpMaskedEq || a.value_two != 0 {
                b = b.value_two(a.value_two);
            }
            b.build()
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| ProfileError::invalid(format!("syscalls[{i}].args"), e.to_string()))?;
    let mut b = LinuxSyscallBuilder::default().names(rule.names.clone()).action(rule.action);
    if let Some(e) = rule.errno_ret {
        b = b.errno_ret(e);
    }
    if !args.is_empty() {
        b = b.args(args);
    }
    b.build().map_err(|e| ProfileError::invalid(format!("syscalls[{i}]"), e.to_string()))
}
