//! Shared by the kernel behaviour tests: run a probe in a forked child under a filter and bring
//! back what happened (the probe's value, or the signal that ended the child).
//!
//! The child only loads the precompiled filter (one seccomp(2) call), runs the probe (raw
//! syscalls), writes 8 bytes and `_exit`s, so forking from the threaded test harness is safe.
#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult};
/// Docker's default capability set (nsbox-core's `caps::DOCKER_DEFAULT`; this crate cannot depend on it).
const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
];
use nsbox_seccomp::filter::{compile, Compiled};
use nsbox_seccomp::profile::{default_profile, to_oci, Profile};
use oci_spec::runtime::{Arch, LinuxSeccomp};

/// An errno no syscall used here returns on its own: a variant of the default profile refuses
/// with it, so seeing it proves the refusal came from the filter.
pub const FILTER_ERRNO: i32 = libc::ENOTRECOVERABLE;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The probe's value: a syscall's result, or `-errno`.
    Returned(i64),
    Signaled(Signal),
    Exited(i32),
}

pub fn docker_caps() -> Vec<String> {
    DOCKER_DEFAULT.iter().map(|c| c.to_string()).collect()
}

pub fn caps_plus(extra: &str) -> Vec<String> {
    let mut c = docker_caps();
    c.push(extra.to_string());
    c
}

pub fn oci(profile: &Profile, caps: &[String]) -> LinuxSeccomp {
    to_oci(profile, caps, Arch::ScmpArchNative).expect("to_oci")
}

/// The default profile with docker's default capabilities, compiled once per test binary.
pub fn default_filter() -> &'static Compiled {
    static F: OnceLock<Compiled> = OnceLock::new();
    F.get_or_init(|| compile(&oci(&default_profile(), &docker_caps())).expect("compile default"))
}

/// The same, refusing with [`FILTER_ERRNO`] instead of EPERM.
pub fn marked_filter(caps: &[String]) -> Compiled {
    let mut p = default_profile();
    p.default_errno_ret = Some(FILTER_ERRNO as u32);
    compile(&oci(&p, caps)).expect("compile marked")
}

/// `-errno` for a failed raw syscall, else its result.
pub fn ret(r: libc::c_long) -> i64 {
    if r == -1 {
        -(Errno::last_raw() as i64)
    } else {
        r
    }
}

/// Forks; the child loads `filter` and runs `probe`; returns what came of it.
pub fn in_child(filter: &Compiled, probe: impl FnOnce() -> i64) -> Outcome {
    let (rd, wr) = pipe().expect("pipe");
    // SAFETY: the child runs only async-signal-safe work (a syscall to load the precompiled
    // filter, the probe's raw syscalls, write, _exit) before leaving.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            // SAFETY: plain libc calls in the child; `_exit` skips the harness's atexit work.
            unsafe {
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                if filter.load().is_err() {
                    // `returns` reads 120 as "could not load" (not root?).
                    libc::_exit(120);
                }
                let v = probe();
                libc::write(wr.as_raw_fd(), (&v as *const i64).cast(), 8);
                libc::_exit(0);
            }
        }
        ForkResult::Parent { child } => {
            drop(wr);
            let mut buf = [0u8; 8];
            let n = nix::unistd::read(&rd, &mut buf).unwrap_or(0);
            match waitpid(child, None).expect("waitpid") {
                WaitStatus::Exited(_, 0) if n == 8 => Outcome::Returned(i64::from_ne_bytes(buf)),
                WaitStatus::Exited(_, code) => Outcome::Exited(code),
                WaitStatus::Signaled(_, sig, _) => Outcome::Signaled(sig),
                other => panic!("unexpected child status {other:?}"),
            }
        }
    }
}

/// `probe` under `filter`, expecting it to return.
pub fn returns(filter: &Compiled, probe: impl FnOnce() -> i64) -> i64 {
    match in_child(filter, probe) {
        Outcome::Returned(v) => v,
        Outcome::Exited(120) => panic!("the child could not load the filter: these tests need root (CAP_SYS_ADMIN)"),
        other => panic!("the probe did not return: {other:?}"),
    }
}

/// Runs a raw syscall with up to six arguments; the result as [`ret`] gives it.
pub fn sys(nr: libc::c_long, a: [u64; 6]) -> i64 {
    // SAFETY: the callers pass syscalls and arguments that touch no memory of ours, or pointers
    // to live locals.
    ret(unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) })
}
