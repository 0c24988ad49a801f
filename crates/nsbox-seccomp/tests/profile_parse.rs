//! Reading profiles: good ones, bad ones and the exact error texts, and the default profile's
//! content. Pure Rust, no kernel involved.
//!
//!     cargo test -p nsbox-seccomp --features apply

use nsbox_seccomp::profile::{default_profile, parse, Flag, KernelVersion, ProfileError, DEFAULT_PROFILE_JSON};
use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompOperator};

fn err(json: &str) -> String {
    parse(json).expect_err("should be refused").to_string()
}

/// A minimal profile with one syscall rule `rule` (a JSON object body).
fn with_rule(rule: &str) -> String {
    format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["read"],"action":"SCMP_ACT_ALLOW"}},{rule}]}}"#)
}

#[test]
fn reads_every_field() {
    let p = parse(
        r#"{
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"],
        "listenerPath": "/run/agent.sock", "listenerMetadata": "m",
        "syscalls": [
          {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "comment": "c",
           "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
           "includes": {"arches": ["amd64"], "minKernel": "4.8"}, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
          {"name": "keyctl", "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "args": null, "includes": {}, "excludes": {}}
        ]}"#,
    )
    .unwrap();
    assert_eq!(p.default_action, LinuxSeccompAction::ScmpActErrno);
    assert_eq!(p.default_errno_ret, Some(1));
    assert_eq!(p.arch_map[0].sub_architectures, vec![Arch::ScmpArchX86, Arch::ScmpArchX32]);
    assert_eq!(p.flags, vec![Flag::Log, Flag::Tsync]);
    assert_eq!(p.listener_path.as_deref(), Some("/run/agent.sock"));
    let clone = &p.syscalls[0];
    assert_eq!(clone.args[0].op, LinuxSeccompOperator::ScmpCmpMaskedEq);
    assert_eq!(clone.args[0].value, 0x7E02_0000);
    assert_eq!(clone.includes.min_kernel, Some(KernelVersion::new(4, 8)));
    assert_eq!(clone.excludes.caps, vec!["CAP_SYS_ADMIN"]);
    // docker's older single `name` is read as names = [name].
    assert_eq!(p.syscalls[1].names, vec!["keyctl"]);
    assert_eq!(p.syscalls[1].errno_ret, Some(38));
}

#[test]
fn every_action_operator_and_architecture_name_reads() {
    for a in [
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
    ] {
        parse(&format!(r#"{{"defaultAction":"{a}"}}"#)).unwrap_or_else(|e| panic!("{a}: {e}"));
    }
    for op in ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"] {
        parse(&with_rule(&format!(r#"{{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":1,"op":"{op}"}}]}}"#)))
            .unwrap_or_else(|e| panic!("{op}: {e}"));
    }
    for arch in [
        "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64",
    ] {
        let p = parse(&format!(r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["{arch}"]}}"#))
            .unwrap_or_else(|e| panic!("{arch}: {e}"));
        // ... and writes back under the same name.
        assert!(p.to_json().contains(&format!("\"{arch}\"")), "{arch}");
    }
    for f in Flag::ALL {
        parse(&format!(r#"{{"defaultAction":"SCMP_ACT_ALLOW","flags":["{}"]}}"#, f.name())).unwrap();
    }
}

#[test]
fn errors_name_the_field() {
    let cases: &[(&str, &str)] = &[
        ("not json", "seccomp profile: expected ident at line 1 column 2"),
        ("[]", "profile: expected an object, found an array"),
        ("{}", "defaultAction: required"),
        (r#"{"defaultAction":"SCMP_ACT_FOO"}"#, r#"defaultAction: unknown action "SCMP_ACT_FOO""#),
        (r#"{"defaultAction":"scmp_act_allow"}"#, r#"defaultAction: unknown action "scmp_act_allow""#),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1}"#, "defaultErrnoRet: SCMP_ACT_ALLOW takes no return code (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"),
        (r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":-1}"#, "defaultErrnoRet: expected a non-negative integer, found a number"),
        (r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":5000}"#, "defaultErrnoRet: 5000 is above the largest errno (4095)"),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","architecture":[]}"#, "architecture: unknown field (known: defaultAction, defaultErrnoRet, architectures, archMap, flags, listenerPath, listenerMetadata, syscalls)"),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_PARISC"]}"#, r#"architectures[0]: unknown architecture "SCMP_ARCH_PARISC""#),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":"SCMP_ARCH_X86"}"#, "architectures: expected an array, found a string"),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":[]}]}"#, "archMap: give either architectures or archMap, not both"),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArches":[]}]}"#, "archMap[0].subArches: unknown field (known: architecture, subArchitectures)"),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}"#, r#"flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER""#),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"x"}"#, "listenerMetadata: set without listenerPath"),
        (r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}}"#, "syscalls: expected an array, found an object"),
    ];
    for (json, want) in cases {
        assert_eq!(&err(json), want, "for {json}");
    }
}

#[test]
fn errors_in_rules_name_the_rule_and_the_field() {
    let cases: &[(&str, &str)] = &[
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_FOO"}]}"#, r#"syscalls[1].args[0].op: unknown operator "SCMP_CMP_FOO""#),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}"#, "syscalls[1].args[0].index: 6 is not an argument index (0..=5)"),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_EQ"}]}"#, "syscalls[1].args[0].value: required"),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":"1","op":"SCMP_CMP_EQ"}]}"#, "syscalls[1].args[0].value: expected a non-negative integer, found a string"),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ","mask":3}]}"#, "syscalls[1].args[0].mask: unknown field (known: index, value, valueTwo, op)"),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALOW"}"#, r#"syscalls[1].action: unknown action "SCMP_ACT_ALOW""#),
        (r#"{"names":["write"]}"#, "syscalls[1].action: required"),
        (r#"{"names":[],"action":"SCMP_ACT_ALLOW"}"#, "syscalls[1].names: needs at least one syscall name"),
        (r#"{"names":["open,close"],"action":"SCMP_ACT_ALLOW"}"#, r#"syscalls[1].names[0]: "open,close" is not a syscall name"#),
        (r#"{"names":["write"],"name":"read","action":"SCMP_ACT_ALLOW"}"#, "syscalls[1].name: give either name or names, not both"),
        (r#"{"names":["write"],"action":"SCMP_ACT_KILL","errnoRet":1}"#, "syscalls[1].errnoRet: SCMP_ACT_KILL takes no return code (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","exclude":{}}"#, "syscalls[1].exclude: unknown field (known: names, name, action, errnoRet, args, comment, includes, excludes)"),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["SYS_ADMIN"]}}"#, r#"syscalls[1].includes.caps[0]: unknown capability "SYS_ADMIN" (names are written CAP_SYS_ADMIN)"#),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["x86_64"]}}"#, r#"syscalls[1].includes.arches[0]: unknown architecture "x86_64" (Go names: amd64, arm64, 386, ...)"#),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","excludes":{"minKernel":"4"}}"#, r#"syscalls[1].excludes.minKernel: "4" is not MAJOR.MINOR"#),
        (r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","excludes":{"minKernel":4.8}}"#, "syscalls[1].excludes.minKernel: expected a string, found a number"),
    ];
    for (rule, want) in cases {
        assert_eq!(&err(&with_rule(rule)), want, "for {rule}");
    }
}

#[test]
fn errors_name_the_field_and_errno() {
    let e = parse(&with_rule(r#"{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_FOO"}]}"#)).unwrap_err();
    assert_eq!(e.field(), Some("syscalls[1].args[0].op"));
    assert_eq!(e.to_string(), r#"syscalls[1].args[0].op: unknown operator "SCMP_CMP_FOO""#);
    let sys = ProfileError::Sys { op: "uname", errno: nix::errno::Errno::EFAULT };
    assert_eq!(sys.to_string(), "uname: EFAULT: Bad address");
}

#[test]
fn kernel_versions() {
    assert_eq!(KernelVersion::parse("4.8"), Some(KernelVersion::new(4, 8)));
    assert_eq!(KernelVersion::parse("4.8.1"), None);
    assert_eq!(KernelVersion::parse("4."), None);
    assert_eq!(KernelVersion::parse("+4.8"), None);
    assert_eq!(KernelVersion::from_release("6.18.44-fc-v1252"), Some(KernelVersion::new(6, 18)));
    assert_eq!(KernelVersion::from_release("5.4"), Some(KernelVersion::new(5, 4)));
    assert!(KernelVersion::new(4, 10) > KernelVersion::new(4, 8));
    assert!(KernelVersion::running().unwrap() >= KernelVersion::new(3, 17));
}

#[test]
fn the_default_profile_is_dockers_shape() {
    let p = default_profile();
    assert_eq!(p.default_action, LinuxSeccompAction::ScmpActErrno);
    assert_eq!(p.default_errno_ret, Some(libc::EPERM as u32));
    let sub = |a: Arch| p.arch_map.iter().find(|m| m.architecture == a).map(|m| m.sub_architectures.clone());
    assert_eq!(sub(Arch::ScmpArchX86_64), Some(vec![Arch::ScmpArchX86, Arch::ScmpArchX32]));
    assert_eq!(sub(Arch::ScmpArchAarch64), Some(vec![Arch::ScmpArchArm]));
    // Never allowed, for any capability set: not named in any allow rule.
    let allowed: Vec<&str> = p
        .syscalls
        .iter()
        .filter(|r| r.action == LinuxSeccompAction::ScmpActAllow)
        .flat_map(|r| r.names.iter().map(String::as_str))
        .collect();
    for never in [
        "keyctl", "add_key", "request_key", "pivot_root", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "userfaultfd", "kexec_load", "kexec_file_load", "swapon", "swapoff", "vm86", "vm86old", "uselib", "ustat",
        "sysfs", "_sysctl", "nfsservctl",
    ] {
        assert!(!allowed.contains(&never), "{never} is allowed somewhere");
    }
    // The text ships in the crate and reads back identically after a write.
    assert_eq!(parse(&p.to_json()).unwrap(), p);
    assert!(DEFAULT_PROFILE_JSON.contains("\"SCMP_ACT_ERRNO\""));
}
