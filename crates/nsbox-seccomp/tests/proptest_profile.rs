//! Property tests of the profile reader: no input makes it panic, and every valid profile reads
//! back equal after being written out (and resolves for any capability set).
//!
//!     cargo test -p nsbox-seccomp --features apply

use nsbox_seccomp::profile::{
    parse, to_oci_for, ArchMap, ArgRule, Condition, Flag, KernelVersion, Profile, SyscallRule, GO_ARCHES,
};
use oci_spec::runtime::{Arch, LinuxSeccompAction as A, LinuxSeccompOperator as O};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Every capability the kernel has, as `CAP_*` names, in a fixed order.
fn all_caps() -> Vec<String> {
    let mut v: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

const ACTIONS: [A; 9] = [
    A::ScmpActKill, A::ScmpActKillThread, A::ScmpActKillProcess, A::ScmpActTrap, A::ScmpActErrno,
    A::ScmpActNotify, A::ScmpActTrace, A::ScmpActLog, A::ScmpActAllow,
];
const OPS: [O; 7] = [O::ScmpCmpNe, O::ScmpCmpLt, O::ScmpCmpLe, O::ScmpCmpEq, O::ScmpCmpGe, O::ScmpCmpGt, O::ScmpCmpMaskedEq];
const ARCHES: [Arch; 6] =
    [Arch::ScmpArchX86, Arch::ScmpArchX86_64, Arch::ScmpArchX32, Arch::ScmpArchArm, Arch::ScmpArchAarch64, Arch::ScmpArchS390x];

/// Words that make the parser go deeper than a random string would.
const WORDS: [&str; 22] = [
    "defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags", "listenerPath", "listenerMetadata",
    "syscalls", "names", "name", "action", "errnoRet", "args", "index", "value", "valueTwo", "op", "includes",
    "excludes", "caps", "arches", "minKernel",
];
const VALUES: [&str; 8] = [
    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_CMP_EQ", "SCMP_ARCH_X86_64", "CAP_SYS_ADMIN", "amd64", "4.8",
    "SECCOMP_FILTER_FLAG_LOG",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        prop::sample::select(&VALUES[..]).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop_oneof![prop::sample::select(&WORDS[..]).prop_map(String::from), "[a-z]{1,8}"], inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn kernel() -> impl Strategy<Value = KernelVersion> {
    (0u32..10, 0u32..30).prop_map(|(a, b)| KernelVersion::new(a, b))
}

fn condition() -> impl Strategy<Value = Condition> {
    (
        prop::sample::subsequence(all_caps(), 0..3),
        prop::sample::subsequence(&GO_ARCHES[..], 0..3),
        prop::option::of(kernel()),
    )
        .prop_map(|(caps, arches, min_kernel)| Condition {
            caps: caps.into_iter().map(String::from).collect(),
            arches: arches.into_iter().map(String::from).collect(),
            min_kernel,
        })
}

fn takes_errno(a: A) -> bool {
    matches!(a, A::ScmpActErrno | A::ScmpActTrace)
}

fn rule() -> impl Strategy<Value = SyscallRule> {
    (
        prop::collection::vec("[a-z_][a-z0-9_]{0,15}", 1..4),
        prop::sample::select(&ACTIONS[..]),
        prop::option::of(0u32..=4095),
        prop::collection::vec((0u32..6, any::<u64>(), any::<u64>(), prop::sample::select(&OPS[..])), 0..3),
        prop::option::of(".{0,20}"),
        condition(),
        condition(),
    )
        .prop_map(|(names, action, errno, args, comment, includes, excludes)| SyscallRule {
            names,
            action,
            errno_ret: errno.filter(|_| takes_errno(action)),
            args: args.into_iter().map(|(index, value, value_two, op)| ArgRule { index, value, value_two, op }).collect(),
            comment,
            includes,
            excludes,
        })
}

fn profile() -> impl Strategy<Value = Profile> {
    (
        prop::sample::select(&ACTIONS[..]),
        prop::option::of(0u32..=4095),
        prop::sample::subsequence(&ARCHES[..], 0..3),
        prop::collection::vec((prop::sample::select(&ARCHES[..]), prop::sample::subsequence(&ARCHES[..], 0..3)), 0..3),
        any::<bool>(),
        prop::sample::subsequence(&Flag::ALL[..], 0..4),
        prop::option::of(("/[a-z]{1,10}", prop::option::of(".{0,10}"))),
        prop::collection::vec(rule(), 0..8),
    )
        .prop_map(|(default_action, errno, architectures, arch_map, use_map, flags, listener, syscalls)| {
            let (listener_path, listener_metadata) = match listener {
                Some((p, m)) => (Some(p), m),
                None => (None, None),
            };
            Profile {
                default_action,
                default_errno_ret: errno.filter(|_| takes_errno(default_action)),
                architectures: if use_map { vec![] } else { architectures },
                arch_map: if use_map {
                    arch_map.into_iter().map(|(architecture, sub_architectures)| ArchMap { architecture, sub_architectures }).collect()
                } else {
                    vec![]
                },
                flags,
                listener_path,
                listener_metadata,
                syscalls,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_json_is_read_or_refused_without_panic(v in json_value()) {
        let _ = parse(&v.to_string());
    }

    #[test]
    fn any_profile_shaped_json_is_read_or_refused_without_panic(
        action in prop::sample::select(&VALUES[..]),
        syscalls in prop::collection::vec(json_value(), 0..4),
        extra in json_value(),
    ) {
        let v = serde_json::json!({"defaultAction": action, "syscalls": syscalls, "archMap": extra});
        if let Err(e) = parse(&v.to_string()) {
            // Every refusal names a field or says the input is not JSON.
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn any_text_is_read_or_refused_without_panic(s in ".{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn valid_profiles_read_back_equal(p in profile()) {
        let text = p.to_json();
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, p);
    }

    #[test]
    fn valid_profiles_resolve_for_any_caps(
        p in profile(),
        caps in prop::sample::subsequence(all_caps(), 0..10),
        arch in prop::sample::select(&ARCHES[..]),
        k in kernel(),
    ) {
        let caps: Vec<String> = caps.into_iter().map(String::from).collect();
        match to_oci_for(&p, &caps, arch, k) {
            Ok(s) => prop_assert!(s.syscalls().as_ref().map_or(0, Vec::len) <= p.syscalls.len()),
            // The one refusal: a flag OCI cannot carry.
            Err(e) => prop_assert!(p.flags.contains(&Flag::WaitKillableRecv), "{}", e),
        }
    }
}
