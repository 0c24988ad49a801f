//! How long the default profile takes to compile and to load, and how many syscalls it allows on
//! each architecture it covers. Run as root (loading without no_new_privs needs CAP_SYS_ADMIN):
//!
//!     cargo run --release -p nsbox-seccomp --features apply --example timing

use std::collections::BTreeSet;
use std::time::Instant;

use libseccomp::{ScmpArch, ScmpSyscall};
/// Docker's default capability set (nsbox-core's `caps::DOCKER_DEFAULT`; this crate cannot depend on it).
const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
];
use nsbox_seccomp::filter::compile;
use nsbox_seccomp::profile::{default_profile, to_oci, KernelVersion};
use oci_spec::runtime::{Arch, LinuxSeccompAction};

const ROUNDS: u32 = 50;

fn main() {
    let caps: Vec<String> = DOCKER_DEFAULT.iter().map(|c| c.to_string()).collect();
    let profile = default_profile();
    let kernel = KernelVersion::running().expect("uname");
    let oci = to_oci(&profile, &caps, Arch::ScmpArchNative).expect("to_oci");

    let t = Instant::now();
    for _ in 0..ROUNDS {
        compile(&oci).expect("compile");
    }
    let compile_us = t.elapsed().as_micros() / ROUNDS as u128;

    // Each load needs a fresh process: filters stack and cannot be removed.
    let mut loads = Vec::new();
    for _ in 0..ROUNDS {
        let c = compile(&oci).expect("compile");
        let mut fds = [0; 2];
        // SAFETY: pipe() fills the two ints it is given.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only loads the filter, writes 8 bytes and _exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let t = Instant::now();
            let ok = c.load().is_ok();
            let us: u64 = if ok { t.elapsed().as_micros() as u64 } else { u64::MAX };
            // SAFETY: writing 8 bytes from a local to the pipe's write end, then leaving at once.
            unsafe {
                libc::write(fds[1], (&us as *const u64).cast(), 8);
                libc::_exit(0);
            }
        }
        let mut us = 0u64;
        // SAFETY: reading 8 bytes into a local from the pipe's read end; then reaping the child.
        unsafe {
            libc::read(fds[0], (&mut us as *mut u64).cast(), 8);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        assert_ne!(us, u64::MAX, "load failed (run as root)");
        loads.push(us);
    }
    loads.sort_unstable();
    let plain_ns = syscall_ns(None);
    let filtered_ns = syscall_ns(Some(&compile(&oci).expect("compile")));
    println!("kernel {kernel}, libseccomp {:?}", libseccomp::ScmpVersion::current().expect("version"));
    let insns = compile(&oci).expect("compile").instructions();
    println!("compile (default profile, docker caps, {insns} BPF instructions): {compile_us} us mean of {ROUNDS}");
    println!("load: median {} us, min {} us, max {} us", loads[loads.len() / 2], loads[0], loads[loads.len() - 1]);

    println!("getppid (allowed, no argument rule): {plain_ns} ns unfiltered, {filtered_ns} ns under the default filter");
    println!("names this libseccomp does not know (skipped): {:?}", compile(&oci).expect("compile").skipped());

    for (host, arches) in [
        (Arch::ScmpArchX86_64, vec![(ScmpArch::X8664, "x86_64"), (ScmpArch::X86, "i386"), (ScmpArch::X32, "x32")]),
        (Arch::ScmpArchAarch64, vec![(ScmpArch::Aarch64, "aarch64"), (ScmpArch::Arm, "arm")]),
    ] {
        let oci = nsbox_seccomp::profile::to_oci_for(&profile, &caps, host, kernel).expect("to_oci");
        let allowed: BTreeSet<&str> = oci
            .syscalls()
            .iter()
            .flatten()
            .filter(|r| r.action() == LinuxSeccompAction::ScmpActAllow)
            .flat_map(|r| r.names().iter().map(String::as_str))
            .collect();
        for (arch, label) in arches {
            // A name counts where it is a real syscall of that ABI (not a libseccomp pseudo number).
            let n = allowed
                .iter()
                .filter(|name| ScmpSyscall::from_name_by_arch(name, arch).is_ok_and(|s| i32::from(s) >= 0))
                .count();
            println!("{label}: {n} syscalls allowed (of {} names in the allow rules)", allowed.len());
        }
    }
}

/// Mean cost of one getppid in a child, with or without the filter loaded.
fn syscall_ns(filter: Option<&nsbox_seccomp::filter::Compiled>) -> u64 {
    const CALLS: u64 = 200_000;
    let mut fds = [0; 2];
    // SAFETY: pipe() fills the two ints it is given.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child loads the filter, loops over a syscall, writes 8 bytes and _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        if let Some(f) = filter {
            f.load().expect("load");
        }
        let t = Instant::now();
        for _ in 0..CALLS {
            // SAFETY: getppid has no arguments and no side effects.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
        let ns = t.elapsed().as_nanos() as u64 / CALLS;
        // SAFETY: writing 8 bytes from a local to the pipe, then leaving at once.
        unsafe {
            libc::write(fds[1], (&ns as *const u64).cast(), 8);
            libc::_exit(0);
        }
    }
    let mut ns = 0u64;
    // SAFETY: reading 8 bytes into a local; reaping the child; closing our pipe ends.
    unsafe {
        libc::read(fds[0], (&mut ns as *mut u64).cast(), 8);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    ns
}
