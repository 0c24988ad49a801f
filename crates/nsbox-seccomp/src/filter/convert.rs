//! OCI words → libseccomp values. Every OCI action, operator, architecture and flag has a case:
//! the match arms are exhaustive, so an oci-spec release that adds one fails to build here
//! instead of being ignored at run time.

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext};
use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSeccompOperator};

use super::error::FilterError;
use crate::profile::names::name_of;

/// The kernel's MAX_ERRNO; larger seccomp errnos would be clamped by the kernel.
const MAX_ERRNO: u32 = 4095;
const EPERM: u32 = libc::EPERM as u32;

/// `action` with its return code. `errno_ret` is meaningful for ERRNO (the errno, EPERM if unset,
/// as the runtime spec says) and TRACE (the value the tracer reads); for any other action the
/// spec requires an error rather than ignoring it.
pub fn action(action: LinuxSeccompAction, errno_ret: Option<u32>, field: &str) -> Result<ScmpAction, FilterError> {
    use LinuxSeccompAction as A;
    let ret = || -> Result<u32, FilterError> {
        let v = errno_ret.unwrap_or(EPERM);
        if v > MAX_ERRNO {
            return Err(FilterError::invalid(field, format!("{v} is above the largest errno ({MAX_ERRNO})")));
        }
        Ok(v)
    };
    if errno_ret.is_some() && !matches!(action, A::ScmpActErrno | A::ScmpActTrace) {
        return Err(FilterError::invalid(field, format!("{} takes no return code", name_of(&action))));
    }
    Ok(match action {
        // SCMP_ACT_KILL is the old name of KILL_THREAD (the kernel's SECCOMP_RET_KILL).
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActErrno => ScmpAction::Errno(ret()? as i32),
        A::ScmpActTrace => ScmpAction::Trace(ret()? as u16),
        A::ScmpActNotify => ScmpAction::Notify,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActAllow => ScmpAction::Allow,
    })
}

pub fn arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
    }
}

/// One comparison. MASKED_EQ reads `value` as the mask and `valueTwo` as what the masked argument
/// must equal, as runc and libseccomp do; the others compare with `value`.
pub fn compare(a: &LinuxSeccompArg, field: &str) -> Result<ScmpArgCompare, FilterError> {
    if a.index() > 5 {
        return Err(FilterError::invalid(format!("{field}.index"), format!("{} is not an argument index (0..=5)", a.index())));
    }
    let (op, datum) = match a.op() {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, a.value()),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, a.value()),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, a.value()),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, a.value()),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, a.value()),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, a.value()),
        LinuxSeccompOperator::ScmpCmpMaskedEq => (ScmpCompareOp::MaskedEqual(a.value()), a.value_two().unwrap_or(0)),
    };
    Ok(ScmpArgCompare::new(a.index() as u32, op, datum))
}

/// Sets the filter attribute a flag stands for. libseccomp refuses the ones it or the kernel cannot
/// do (EOPNOTSUPP/EINVAL), and that refusal is returned, never skipped.
pub fn flag(ctx: &mut ScmpFilterContext, flag: LinuxSeccompFilterFlag, field: &str) -> Result<(), FilterError> {
    let r = match flag {
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => ctx.set_ctl_tsync(true),
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => ctx.set_ctl_log(true),
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => ctx.set_ctl_ssb(true),
    };
    r.map(|_| ()).map_err(|e| FilterError::lib("seccomp_attr_set", format!("{field} {}", name_of(&flag)), e))
}
