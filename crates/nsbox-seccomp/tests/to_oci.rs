//! Resolving a profile for one container (capabilities, architecture, kernel) into OCI
//! `linux.seccomp`, and the checks `filter::compile` makes on OCI input. No filter is loaded.
//!
//!     cargo test -p nsbox-seccomp --features apply

/// Docker's default capability set (nsbox-core's `caps::DOCKER_DEFAULT`; this crate cannot depend on it).
const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
];
use nsbox_seccomp::filter::{compile, FilterError};
use nsbox_seccomp::profile::{default_profile, parse, to_oci_for, KernelVersion, Profile};
use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};

const K: KernelVersion = KernelVersion::new(6, 1);

fn caps(extra: &[&str]) -> Vec<String> {
    DOCKER_DEFAULT.iter().chain(extra).map(|c| c.to_string()).collect()
}

fn resolve(p: &Profile, extra: &[&str], arch: Arch, kernel: KernelVersion) -> LinuxSeccomp {
    to_oci_for(p, &caps(extra), arch, kernel).unwrap()
}

/// (action, errnoRet, first argument as (index, value, op)) of a resolved rule.
type Seen = (LinuxSeccompAction, Option<u32>, Option<(usize, u64, LinuxSeccompOperator)>);

/// Every rule the resolved config has for `name`.
fn rules_for(s: &LinuxSeccomp, name: &str) -> Vec<Seen> {
    s.syscalls()
        .iter()
        .flatten()
        .filter(|r| r.names().iter().any(|n| n == name))
        .map(|r| (r.action(), r.errno_ret(), r.args().as_ref().and_then(|a| a.first()).map(|a| (a.index(), a.value(), a.op()))))
        .collect()
}

fn allowed(s: &LinuxSeccomp, name: &str) -> bool {
    rules_for(s, name).iter().any(|r| r.0 == LinuxSeccompAction::ScmpActAllow && r.2.is_none())
}

#[test]
fn capabilities_include_and_exclude_rules() {
    let p = default_profile();
    let plain = resolve(&p, &[], Arch::ScmpArchX86_64, K);
    let admin = resolve(&p, &["CAP_SYS_ADMIN"], Arch::ScmpArchX86_64, K);
    for name in ["mount", "umount2", "unshare", "setns", "bpf", "fsopen", "open_tree", "perf_event_open"] {
        assert!(!allowed(&plain, name), "{name} without CAP_SYS_ADMIN");
        assert!(allowed(&admin, name), "{name} with CAP_SYS_ADMIN");
    }
    // clone: masked rule without CAP_SYS_ADMIN, plain allow with it; clone3: ENOSYS vs allow.
    assert_eq!(
        rules_for(&plain, "clone"),
        vec![(LinuxSeccompAction::ScmpActAllow, None, Some((0, 0x7E02_0000, LinuxSeccompOperator::ScmpCmpMaskedEq)))]
    );
    assert_eq!(rules_for(&admin, "clone"), vec![(LinuxSeccompAction::ScmpActAllow, None, None)]);
    assert_eq!(rules_for(&plain, "clone3"), vec![(LinuxSeccompAction::ScmpActErrno, Some(libc::ENOSYS as u32), None)]);
    assert_eq!(rules_for(&admin, "clone3"), vec![(LinuxSeccompAction::ScmpActAllow, None, None)]);
    for (cap, names) in [
        ("CAP_SYS_PTRACE", &["kcmp", "pidfd_getfd", "process_madvise"][..]),
        ("CAP_SYS_MODULE", &["init_module", "finit_module", "delete_module"]),
        ("CAP_SYS_BOOT", &["reboot"]),
        ("CAP_SYS_TIME", &["settimeofday", "clock_settime"]),
        ("CAP_SYS_NICE", &["mbind", "set_mempolicy", "get_mempolicy", "move_pages"]),
        ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
        ("CAP_SYS_PACCT", &["acct"]),
        ("CAP_SYSLOG", &["syslog"]),
        ("CAP_BPF", &["bpf"]),
        ("CAP_PERFMON", &["perf_event_open"]),
        ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    ] {
        let with = resolve(&p, &[cap], Arch::ScmpArchX86_64, K);
        for n in names {
            assert!(!allowed(&plain, n), "{n} without {cap}");
            assert!(allowed(&with, n), "{n} with {cap}");
        }
    }
    // CAP_SYS_CHROOT is in docker's default set.
    assert!(allowed(&plain, "chroot"));
    let no_chroot: Vec<String> = caps(&[]).into_iter().filter(|c| c != "CAP_SYS_CHROOT").collect();
    assert!(!allowed(&to_oci_for(&p, &no_chroot, Arch::ScmpArchX86_64, K).unwrap(), "chroot"));
}

#[test]
fn includes_need_every_capability_excludes_any() {
    let p = parse(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["a1"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN","CAP_SYS_NICE"]}},
            {"names":["a2"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_SYS_ADMIN","CAP_SYS_NICE"]}}]}"#,
    )
    .unwrap();
    let one = resolve(&p, &["CAP_SYS_NICE"], Arch::ScmpArchX86_64, K);
    assert!(!allowed(&one, "a1") && !allowed(&one, "a2"));
    let both = resolve(&p, &["CAP_SYS_NICE", "CAP_SYS_ADMIN"], Arch::ScmpArchX86_64, K);
    assert!(allowed(&both, "a1") && !allowed(&both, "a2"));
    let none = resolve(&p, &[], Arch::ScmpArchX86_64, K);
    assert!(!allowed(&none, "a1") && allowed(&none, "a2"));
}

#[test]
fn architectures_follow_the_host() {
    let p = default_profile();
    let x86 = resolve(&p, &[], Arch::ScmpArchX86_64, K);
    assert_eq!(x86.architectures().clone().unwrap(), vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]);
    assert!(allowed(&x86, "arch_prctl") && allowed(&x86, "modify_ldt"));
    assert!(!allowed(&x86, "set_tls") && !allowed(&x86, "cacheflush"));
    let arm = resolve(&p, &[], Arch::ScmpArchAarch64, K);
    assert_eq!(arm.architectures().clone().unwrap(), vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]);
    assert!(allowed(&arm, "set_tls") && !allowed(&arm, "arch_prctl"));
    // s390x: clone's flags are argument 1.
    let s390 = resolve(&p, &[], Arch::ScmpArchS390x, K);
    assert!(s390.architectures().is_none(), "no archMap entry: native only");
    assert_eq!(rules_for(&s390, "clone")[0].2, Some((1, 0x7E02_0000, LinuxSeccompOperator::ScmpCmpMaskedEq)));
    // The legacy `architectures` list is passed on whatever the host.
    let legacy = parse(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"]}"#).unwrap();
    assert_eq!(resolve(&legacy, &[], Arch::ScmpArchAarch64, K).architectures().clone().unwrap(), vec![Arch::ScmpArchX86_64]);
    // SCMP_ARCH_NATIVE stands for the build's architecture.
    let native = resolve(&p, &[], Arch::ScmpArchNative, K);
    let expect = if cfg!(target_arch = "x86_64") { Arch::ScmpArchX86_64 } else { Arch::ScmpArchAarch64 };
    assert_eq!(native.architectures().clone().unwrap()[0], expect);
}

#[test]
fn min_kernel_gates_ptrace() {
    let p = default_profile();
    assert!(allowed(&resolve(&p, &[], Arch::ScmpArchX86_64, KernelVersion::new(4, 8)), "ptrace"));
    assert!(allowed(&resolve(&p, &[], Arch::ScmpArchX86_64, KernelVersion::new(5, 0)), "process_vm_readv"));
    assert!(!allowed(&resolve(&p, &[], Arch::ScmpArchX86_64, KernelVersion::new(4, 7)), "ptrace"));
    assert!(allowed(&resolve(&p, &["CAP_SYS_PTRACE"], Arch::ScmpArchX86_64, KernelVersion::new(4, 7)), "ptrace"));
    // excludes.minKernel: dropped from that kernel on.
    let ex = parse(r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["old"],"action":"SCMP_ACT_ALLOW","excludes":{"minKernel":"5.10"}}]}"#).unwrap();
    assert!(allowed(&resolve(&ex, &[], Arch::ScmpArchX86_64, KernelVersion::new(5, 9)), "old"));
    assert!(!allowed(&resolve(&ex, &[], Arch::ScmpArchX86_64, KernelVersion::new(5, 10)), "old"));
}

#[test]
fn the_rest_is_copied() {
    let p = parse(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_TSYNC"],
            "listenerPath":"/run/a.sock","listenerMetadata":"m",
            "syscalls":[{"names":["write"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":2,"value":7,"op":"SCMP_CMP_GT"}]}]}"#,
    )
    .unwrap();
    let s = resolve(&p, &[], Arch::ScmpArchX86_64, K);
    assert_eq!(s.default_errno_ret(), Some(38));
    assert_eq!(
        s.flags().clone().unwrap(),
        vec![
            LinuxSeccompFilterFlag::SeccompFilterFlagLog,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync
        ]
    );
    assert_eq!(s.listener_path().as_deref(), Some(std::path::Path::new("/run/a.sock")));
    assert_eq!(s.listener_metadata().as_deref(), Some("m"));
    assert_eq!(rules_for(&s, "write"), vec![(LinuxSeccompAction::ScmpActErrno, Some(5), Some((2, 7, LinuxSeccompOperator::ScmpCmpGt)))]);
    // The OCI JSON a runtime reads.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["syscalls"][0]["args"][0]["op"], "SCMP_CMP_GT");
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
}

#[test]
fn refusals_while_resolving() {
    let p = default_profile();
    let e = to_oci_for(&p, &["CAP_NOPE".to_string()], Arch::ScmpArchX86_64, K).unwrap_err();
    assert_eq!(e.to_string(), r#"caps[0]: unknown capability "CAP_NOPE""#);
    let wk = parse(r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#).unwrap();
    let e = to_oci_for(&wk, &[], Arch::ScmpArchX86_64, K).unwrap_err();
    assert!(e.to_string().starts_with("flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV cannot be passed on"), "{e}");
}

/// `compile` checks OCI input that did not come through a profile.
#[test]
fn compile_refuses_what_it_cannot_do() {
    let bad = |json: &str| compile(&serde_json::from_str::<LinuxSeccomp>(json).unwrap()).unwrap_err().to_string();
    assert_eq!(
        bad(r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":1}]}"#),
        "syscalls[0].errnoRet: SCMP_ACT_ALLOW takes no return code"
    );
    assert_eq!(
        bad(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":70000}]}"#),
        "syscalls[0].errnoRet: 70000 is above the largest errno (4095)"
    );
    assert_eq!(
        bad(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#),
        "syscalls[0].args[0].index: 7 is not an argument index (0..=5)"
    );
    assert_eq!(bad(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}"#), "syscalls[0].names: needs at least one syscall name");
    // An unknown action, operator, architecture or flag does not even deserialize as OCI.
    for json in [
        r#"{"defaultAction":"SCMP_ACT_FOO"}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_FOO"]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":0,"op":"SCMP_CMP_FOO"}]}]}"#,
    ] {
        assert!(serde_json::from_str::<LinuxSeccomp>(json).is_err(), "{json}");
    }
    let e = compile(&serde_json::from_str::<LinuxSeccomp>(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#).unwrap()).unwrap_err();
    assert!(matches!(&e, FilterError::Invalid { field, .. } if field == "defaultAction"), "{e}");
}

#[test]
fn unknown_names_are_skipped_and_reported() {
    let s: LinuxSeccomp = serde_json::from_str(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","no_such_syscall_nsbox","chown32"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let c = compile(&s).unwrap();
    assert_eq!(c.skipped(), ["no_such_syscall_nsbox"]);
    assert!(!c.uses_notify());
    // The default profile compiles; on Debian 12's libseccomp 2.5.4 the syscalls newer than its
    // tables are the ones skipped.
    let d = compile(&to_oci_for(&default_profile(), &caps(&[]), Arch::ScmpArchNative, KernelVersion::running().unwrap()).unwrap()).unwrap();
    assert!(d.instructions() > 100 && d.instructions() <= 4096, "{}", d.instructions());
    for s in d.skipped() {
        assert!(
            ["fchmodat2", "map_shadow_stack", "mseal", "futex_wake", "futex_wait", "futex_requeue", "cachestat",
             "getxattrat", "setxattrat", "listxattrat", "removexattrat", "set_mempolicy_home_node", "memfd_secret",
             "process_mrelease", "futex_waitv", "epoll_pwait2", "landlock_create_ruleset", "landlock_add_rule",
             "landlock_restrict_self", "quotactl_fd", "mount_setattr", "process_madvise", "close_range", "faccessat2"]
                .contains(&s.as_str()),
            "unexpected skip {s}"
        );
    }
}

#[test]
fn pfc_export_reads() {
    let s: LinuxSeccomp = serde_json::from_str(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["keyctl"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap();
    let text = nsbox_seccomp::filter::export_pfc(&s).unwrap();
    assert!(text.contains("keyctl") || text.contains("250"), "{text}");
}
