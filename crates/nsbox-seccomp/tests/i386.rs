//! The i386 ABI, called natively from this x86_64 process with `int 0x80` (the kernel's IA32
//! emulation): the default profile's archMap puts i386 in the filter, so its calls are judged
//! like the 64-bit ones; a filter that lists only x86_64 kills the process instead. (x32 is not
//! tested: this kernel is built without it.) Needs root.
//!
//!     cargo test -p nsbox-seccomp --features apply
//! (`cargo test --workspace` runs it too: the crate's dev-dependency on itself enables `apply`.)
#![cfg(target_arch = "x86_64")]

mod common;

use common::*;
use nix::sys::signal::Signal;
use nsbox_seccomp::filter::compile;
use nsbox_seccomp::profile::{default_profile, parse};

// i386 syscall numbers (arch/x86/entry/syscalls/syscall_32.tbl).
const I386_GETPID: u32 = 20;
const I386_KEYCTL: u32 = 288;
const I386_UNSHARE: u32 = 310;
const I386_PERSONALITY: u32 = 136;

/// One i386 syscall through `int 0x80` with three arguments (ebx, ecx, edx); returns eax as the
/// kernel left it (a result, or -errno).
fn int80(nr: u32, a0: u32, a1: u32, a2: u32) -> i64 {
    let ret: u32;
    // SAFETY: `int 0x80` enters the kernel's 32-bit syscall path; the calls used here take no
    // pointers. rbx cannot be named as an operand (LLVM reserves it), so the first argument is
    // swapped into it and back. The kernel may clear r8-r11 on this path: marked clobbered.
    unsafe {
        core::arch::asm!(
            "xchg {a0:r}, rbx",
            "int 0x80",
            "xchg {a0:r}, rbx",
            a0 = inout(reg) a0 as u64 => _,
            inlateout("eax") nr => ret,
            in("ecx") a1,
            in("edx") a2,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        );
    }
    ret as i32 as i64
}

/// Without any filter, `int 0x80` getpid answers our pid: the kernel has IA32 emulation, so the
/// results below are about the filter, not about a missing ABI.
#[test]
fn the_kernel_runs_i386_calls() {
    assert_eq!(int80(I386_GETPID, 0, 0, 0), std::process::id() as i64);
}

#[test]
fn default_profile_covers_i386() {
    let oci = oci(&default_profile(), &docker_caps());
    let arches: Vec<_> = oci.architectures().clone().unwrap();
    assert!(arches.contains(&oci_spec::runtime::Arch::ScmpArchX86), "{arches:?}");
    let f = default_filter();
    let pid = returns(f, || int80(I386_GETPID, 0, 0, 0));
    assert!(pid > 0, "i386 getpid: {pid}");
    let eperm = -(libc::EPERM as i64);
    assert_eq!(returns(f, || int80(I386_KEYCTL, 0, (-2i32) as u32, 0)), eperm, "i386 keyctl");
    assert_eq!(returns(f, || int80(I386_UNSHARE, libc::CLONE_NEWUSER as u32, 0, 0)), eperm, "i386 unshare");
    // Argument rules hold on i386 too: personality(0) yes, PER_LINUX32_3GB no.
    assert!(returns(f, || int80(I386_PERSONALITY, 0, 0, 0)) >= 0);
    assert_eq!(returns(f, || int80(I386_PERSONALITY, 0x0800_0008, 0, 0)), eperm);
}

/// The marked variant shows the i386 refusals are the filter's.
#[test]
fn i386_refusals_come_from_the_filter() {
    let f = marked_filter(&docker_caps());
    let mark = -(FILTER_ERRNO as i64);
    assert_eq!(returns(&f, || int80(I386_KEYCTL, 0, (-2i32) as u32, 0)), mark);
    assert_eq!(returns(&f, || int80(I386_UNSHARE, libc::CLONE_NEWUSER as u32, 0, 0)), mark);
}

/// A profile listing only x86_64 has no i386 sub-filter: an i386 call matches no architecture
/// of the filter, and nsbox's bad-architecture action kills the whole process with SIGSYS (even
/// getpid, which the profile allows: the profile was never asked about i386). 64-bit calls
/// still work.
#[test]
fn x86_64_only_profile_kills_i386_callers() {
    let p = parse(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
            "syscalls":[{"names":["getpid","write","exit_group","exit"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let f = compile(&oci(&p, &docker_caps())).unwrap();
    assert!(returns(&f, || sys(libc::SYS_getpid, [0; 6])) > 0);
    assert_eq!(in_child(&f, || int80(I386_GETPID, 0, 0, 0)), Outcome::Signaled(Signal::SIGSYS));
    assert_eq!(in_child(&f, || int80(I386_KEYCTL, 0, 0, 0)), Outcome::Signaled(Signal::SIGSYS));
}
