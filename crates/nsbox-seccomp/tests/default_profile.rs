//! The default profile on the real kernel, one forked child per probe: what a container with
//! docker's default capabilities may and may not call. Needs root (loading a filter without
//! no_new_privs needs CAP_SYS_ADMIN, and root makes the refusals the filter's alone).
//!
//!     cargo test -p nsbox-seccomp --features apply
//! (`cargo test --workspace` runs it too: the crate's dev-dependency on itself enables `apply`.)

mod common;

use common::*;
use libc::{c_long, SYS_clone, SYS_clone3};

const EPERM: i64 = -(libc::EPERM as i64);
const MARK: i64 = -(FILTER_ERRNO as i64);

fn p(s: &std::ffi::CStr) -> u64 {
    s.as_ptr() as u64
}

/// The calls the default profile refuses whatever the probe's arguments; each is made so that it
/// would be harmless were it allowed (a bad magic for reboot, a missing path for swapon, ...).
fn refused() -> Vec<(&'static str, c_long, [u64; 6])> {
    let m1 = u64::MAX; // -1 as an fd
    vec![
        ("keyctl", libc::SYS_keyctl, [0, (-2i64) as u64, 0, 0, 0, 0]),
        ("add_key", libc::SYS_add_key, [p(c"user"), p(c"nsbox-test"), p(c"x"), 1, (-2i64) as u64, 0]),
        ("request_key", libc::SYS_request_key, [p(c"user"), p(c"nsbox-none"), 0, 0, 0, 0]),
        ("unshare(CLONE_NEWUSER)", libc::SYS_unshare, [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]),
        ("unshare(CLONE_NEWNS)", libc::SYS_unshare, [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]),
        ("setns", libc::SYS_setns, [m1, 0, 0, 0, 0, 0]),
        ("mount", libc::SYS_mount, [p(c"none"), p(c"/nonexistent-nsbox"), p(c"tmpfs"), 0, 0, 0]),
        ("umount2", libc::SYS_umount2, [p(c"/nonexistent-nsbox"), 0, 0, 0, 0, 0]),
        ("pivot_root", libc::SYS_pivot_root, [p(c"/nonexistent-nsbox"), p(c"/nonexistent-nsbox"), 0, 0, 0, 0]),
        ("io_uring_setup", libc::SYS_io_uring_setup, [1, 0, 0, 0, 0, 0]),
        ("io_uring_enter", libc::SYS_io_uring_enter, [m1, 0, 0, 0, 0, 0]),
        ("io_uring_register", libc::SYS_io_uring_register, [m1, 0, 0, 0, 0, 0]),
        ("userfaultfd", libc::SYS_userfaultfd, [libc::O_CLOEXEC as u64, 0, 0, 0, 0, 0]),
        ("perf_event_open", libc::SYS_perf_event_open, [0, 0, m1, m1, 0, 0]),
        ("bpf", libc::SYS_bpf, [0, 0, 0, 0, 0, 0]),
        ("kexec_load", libc::SYS_kexec_load, [0, 0, 0, 0xdead_0000, 0, 0]),
        ("kexec_file_load", libc::SYS_kexec_file_load, [m1, m1, 0, 0, 0xdead_0000, 0]),
        ("init_module", libc::SYS_init_module, [0, 0, p(c""), 0, 0, 0]),
        ("finit_module", libc::SYS_finit_module, [m1, p(c""), 0, 0, 0, 0]),
        ("delete_module", libc::SYS_delete_module, [p(c"nsbox_none"), libc::O_NONBLOCK as u64, 0, 0, 0, 0]),
        ("open_by_handle_at", libc::SYS_open_by_handle_at, [m1, 0, 0, 0, 0, 0]),
        ("name_to_handle_at", libc::SYS_name_to_handle_at, [m1, p(c""), 0, 0, 0, 0]),
        ("acct", libc::SYS_acct, [p(c"/nonexistent-nsbox/acct"), 0, 0, 0, 0, 0]),
        ("swapon", libc::SYS_swapon, [p(c"/nonexistent-nsbox"), 0, 0, 0, 0, 0]),
        ("swapoff", libc::SYS_swapoff, [p(c"/nonexistent-nsbox"), 0, 0, 0, 0, 0]),
        ("reboot (bad magic)", libc::SYS_reboot, [0, 0, 0, 0, 0, 0]),
        ("settimeofday", libc::SYS_settimeofday, [0, 0, 0, 0, 0, 0]),
        ("clock_settime", libc::SYS_clock_settime, [libc::CLOCK_REALTIME as u64, 0, 0, 0, 0, 0]),
        ("lookup_dcookie", libc::SYS_lookup_dcookie, [0, 0, 0, 0, 0, 0]),
        ("quotactl", libc::SYS_quotactl, [0, 0, 0, 0, 0, 0]),
        ("uselib", libc::SYS_uselib, [p(c"/nonexistent-nsbox"), 0, 0, 0, 0, 0]),
        ("ustat", libc::SYS_ustat, [0, 0, 0, 0, 0, 0]),
        ("sysfs", libc::SYS_sysfs, [2, 0, 0, 0, 0, 0]),
        ("_sysctl", libc::SYS__sysctl, [0, 0, 0, 0, 0, 0]),
        ("nfsservctl", libc::SYS_nfsservctl, [0, 0, 0, 0, 0, 0]),
        ("move_pages", libc::SYS_move_pages, [0, 0, 0, 0, 0, 0]),
        ("mbind", libc::SYS_mbind, [0, 0, 0, 0, 0, 0]),
        ("set_mempolicy", libc::SYS_set_mempolicy, [0, 0, 0, 0, 0, 0]),
        ("get_mempolicy", libc::SYS_get_mempolicy, [0, 0, 0, 0, 0, 0]),
        ("fsopen", libc::SYS_fsopen, [p(c"tmpfs"), 0, 0, 0, 0, 0]),
        ("fsconfig", libc::SYS_fsconfig, [m1, 0, 0, 0, 0, 0]),
        ("fsmount", libc::SYS_fsmount, [m1, 0, 0, 0, 0, 0]),
        ("fspick", libc::SYS_fspick, [m1, p(c""), 0, 0, 0, 0]),
        ("open_tree", libc::SYS_open_tree, [m1, p(c"/nonexistent-nsbox"), 0, 0, 0, 0]),
        ("move_mount", libc::SYS_move_mount, [m1, p(c""), m1, p(c""), 0, 0]),
        ("mount_setattr", libc::SYS_mount_setattr, [m1, p(c""), 0, 0, 0, 0]),
        ("kcmp", libc::SYS_kcmp, [0, 0, 0, 0, 0, 0]),
        ("pidfd_getfd", libc::SYS_pidfd_getfd, [m1, 0, 0, 0, 0, 0]),
        ("iopl", libc::SYS_iopl, [0, 0, 0, 0, 0, 0]),
        ("ioperm", libc::SYS_ioperm, [0, 0, 0, 0, 0, 0]),
        ("syslog", libc::SYS_syslog, [10, 0, 0, 0, 0, 0]),
        ("sethostname (too long)", libc::SYS_sethostname, [p(c"x"), 1000, 0, 0, 0, 0]),
        ("clone(CLONE_NEWUSER)", SYS_clone, [(libc::CLONE_NEWUSER | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0]),
        ("clone(CLONE_NEWNET)", SYS_clone, [(libc::CLONE_NEWNET | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0]),
        ("personality(PER_LINUX32_3GB)", libc::SYS_personality, [0x0800_0008, 0, 0, 0, 0, 0]),
        ("socket(AF_VSOCK)", libc::SYS_socket, [libc::AF_VSOCK as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0]),
    ]
}

#[test]
fn refused_calls_get_eperm() {
    let f = default_filter();
    let mut wrong = Vec::new();
    for (what, nr, args) in refused() {
        let got = returns(f, || sys(nr, args));
        if got != EPERM {
            wrong.push(format!("{what}: {got}"));
        }
    }
    assert!(wrong.is_empty(), "not refused with EPERM: {wrong:?}");
}

/// The same calls, under the profile refusing with ENOTRECOVERABLE: the errno can only have come
/// from the filter, not from the kernel checking permissions or arguments.
#[test]
fn refusals_come_from_the_filter() {
    let f = marked_filter(&docker_caps());
    let mut wrong = Vec::new();
    for (what, nr, args) in refused() {
        let got = returns(&f, || sys(nr, args));
        if got != MARK {
            wrong.push(format!("{what}: {got}"));
        }
    }
    assert!(wrong.is_empty(), "not refused by the filter: {wrong:?}");
}

#[test]
fn basics_are_allowed() {
    let f = default_filter();
    let pid = returns(f, || sys(libc::SYS_getpid, [0; 6]));
    assert!(pid > 0);
    // A pipe, a write and a read through it.
    let rw = returns(f, || {
        let mut fds = [0i32; 2];
        let r = sys(libc::SYS_pipe2, [fds.as_mut_ptr() as u64, 0, 0, 0, 0, 0]);
        if r != 0 {
            return r;
        }
        let w = sys(libc::SYS_write, [fds[1] as u64, p(c"abc"), 3, 0, 0, 0]);
        let mut buf = [0u8; 3];
        let r = sys(libc::SYS_read, [fds[0] as u64, buf.as_mut_ptr() as u64, 3, 0, 0, 0]);
        if w == 3 && r == 3 && &buf == b"abc" { 0 } else { -1000 }
    });
    assert_eq!(rw, 0);
    let fd = returns(f, || sys(libc::SYS_openat, [libc::AT_FDCWD as u64, p(c"/dev/null"), libc::O_RDONLY as u64, 0, 0, 0]));
    assert!(fd >= 0, "openat: {fd}");
    let map = returns(f, || {
        let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
        let a = sys(libc::SYS_mmap, [0, 4096, prot, flags, u64::MAX, 0]);
        if a < 0 { a } else { sys(libc::SYS_munmap, [a as u64, 4096, 0, 0, 0, 0]) }
    });
    assert_eq!(map, 0);
    // socket(AF_UNIX) is fine; only AF_VSOCK is refused.
    let s = returns(f, || sys(libc::SYS_socket, [libc::AF_UNIX as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0]));
    assert!(s >= 0, "socket(AF_UNIX): {s}");
    // chroot is allowed with CAP_SYS_CHROOT (in docker's default set): the kernel answers ENOENT.
    let c = returns(f, || sys(libc::SYS_chroot, [p(c"/nonexistent-nsbox"), 0, 0, 0, 0, 0]));
    assert_eq!(c, -(libc::ENOENT as i64));
}

/// A raw clone without namespace flags; the child leaves at once and is reaped.
fn plain_clone() -> i64 {
    let pid = sys(SYS_clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]);
    if pid == 0 {
        // SAFETY: the clone child leaves at once.
        unsafe { libc::_exit(0) };
    }
    if pid > 0 {
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), 0) };
        return 0;
    }
    pid
}

#[test]
fn clone_without_namespace_flags_works_and_clone3_says_enosys() {
    let f = default_filter();
    assert_eq!(returns(f, plain_clone), 0);
    let clone3 = returns(f, || {
        // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, ... (64 bytes in v0).
        let mut args = [0u64; 8];
        args[4] = libc::SIGCHLD as u64;
        sys(SYS_clone3, [args.as_mut_ptr() as u64, 64, 0, 0, 0, 0])
    });
    assert_eq!(clone3, -(libc::ENOSYS as i64));
}

/// glibc's pthread_create tries clone3 first; on ENOSYS it falls back to clone, whose flags the
/// filter can read and allows (no CLONE_NEW*). Threads therefore still work in a container.
#[test]
fn libc_falls_back_from_clone3_to_clone() {
    extern "C" fn thread(_: *mut libc::c_void) -> *mut libc::c_void {
        7 as *mut libc::c_void
    }
    let got = returns(default_filter(), || {
        let mut t: libc::pthread_t = 0;
        // SAFETY: a thread running a function that touches nothing, joined before returning.
        unsafe {
            let rc = libc::pthread_create(&mut t, std::ptr::null(), thread, std::ptr::null_mut());
            if rc != 0 {
                return -(rc as i64);
            }
            let mut out: *mut libc::c_void = std::ptr::null_mut();
            libc::pthread_join(t, &mut out);
            out as i64
        }
    });
    assert_eq!(got, 7);
}

#[test]
fn personality_only_for_dockers_values() {
    let f = default_filter();
    for v in [0x0u64, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
        let got = returns(f, || sys(libc::SYS_personality, [v, 0, 0, 0, 0, 0]));
        assert!(got >= 0, "personality({v:#x}) = {got}");
    }
    for v in [0x0800_0008u64, 0x0040_0000 /* READ_IMPLIES_EXEC */, 0x1] {
        assert_eq!(returns(f, || sys(libc::SYS_personality, [v, 0, 0, 0, 0, 0])), EPERM, "personality({v:#x})");
    }
}

/// ptrace is allowed from kernel 4.8 on (the rule's minKernel); PTRACE_TRACEME succeeds.
#[test]
fn ptrace_is_allowed() {
    let got = returns(default_filter(), || sys(libc::SYS_ptrace, [libc::PTRACE_TRACEME as u64, 0, 0, 0, 0, 0]));
    assert_eq!(got, 0);
}

/// With CAP_SYS_ADMIN the filter lets namespaces, mounts and clone3 through; under the marked
/// profile a refusal would be ENOTRECOVERABLE, so success shows the filter's decision.
#[test]
fn cap_sys_admin_allows_unshare_mount_and_clone3() {
    let admin = marked_filter(&caps_plus("CAP_SYS_ADMIN"));
    assert_eq!(returns(&admin, || sys(libc::SYS_unshare, [libc::CLONE_NEWUTS as u64, 0, 0, 0, 0, 0])), 0);
    let mount = returns(&admin, || {
        let r = sys(libc::SYS_unshare, [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]);
        if r != 0 {
            return r;
        }
        sys(libc::SYS_mount, [0, p(c"/"), 0, libc::MS_REC | libc::MS_PRIVATE, 0, 0])
    });
    assert_eq!(mount, 0);
    let clone3 = returns(&admin, || {
        let mut args = [0u64; 8];
        args[4] = libc::SIGCHLD as u64;
        let pid = sys(SYS_clone3, [args.as_mut_ptr() as u64, 64, 0, 0, 0, 0]);
        if pid == 0 {
            // SAFETY: the clone3 child leaves at once.
            unsafe { libc::_exit(0) };
        }
        if pid > 0 {
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), 0) };
            return 0;
        }
        pid
    });
    assert_eq!(clone3, 0);

    // Without it, the same calls are the filter's refusals.
    let plain = marked_filter(&docker_caps());
    assert_eq!(returns(&plain, || sys(libc::SYS_unshare, [libc::CLONE_NEWUTS as u64, 0, 0, 0, 0, 0])), MARK);
    assert_eq!(returns(&plain, || sys(libc::SYS_mount, [0, p(c"/"), 0, libc::MS_REC, 0, 0])), MARK);
}

#[test]
fn capabilities_open_their_syscalls() {
    // CAP_SYS_PTRACE: kcmp on ourselves compares equal (0).
    let ptrace = marked_filter(&caps_plus("CAP_SYS_PTRACE"));
    let kcmp = returns(&ptrace, || {
        let me = sys(libc::SYS_getpid, [0; 6]) as u64;
        sys(libc::SYS_kcmp, [me, me, 0 /* KCMP_FILE */, 0, 0, 0])
    });
    assert_eq!(kcmp, 0);
    // CAP_SYS_NICE: get_mempolicy with no outputs succeeds.
    let nice = marked_filter(&caps_plus("CAP_SYS_NICE"));
    assert_eq!(returns(&nice, || sys(libc::SYS_get_mempolicy, [0; 6])), 0);
    // CAP_SYS_TIME: settimeofday(NULL, NULL) changes nothing and succeeds.
    let time = marked_filter(&caps_plus("CAP_SYS_TIME"));
    assert_eq!(returns(&time, || sys(libc::SYS_settimeofday, [0; 6])), 0);
    // CAP_SYS_BOOT: reboot with a bad magic reaches the kernel, which says EINVAL.
    let boot = marked_filter(&caps_plus("CAP_SYS_BOOT"));
    assert_eq!(returns(&boot, || sys(libc::SYS_reboot, [0; 6])), -(libc::EINVAL as i64));
}
