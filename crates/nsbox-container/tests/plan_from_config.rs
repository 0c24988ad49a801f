//! Property tests for the runtime's reader of a bundle's config.json, which a bundle's author
//! controls: any config the OCI types accept either becomes a plan or is refused with an error
//! naming the field, never a panic; and a refusal never depends on the order it is read in.

use std::path::Path;

use nsbox_container::spec::Plan;
use oci_spec::runtime::Spec;
use proptest::prelude::*;
use serde_json::{json, Value};

fn namespace() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "pid"})),
        Just(json!({"type": "mount"})),
        Just(json!({"type": "network"})),
        Just(json!({"type": "user"})),
        Just(json!({"type": "time"})),
        Just(json!({"type": "network", "path": "/proc/1/ns/net"})),
        Just(json!({"type": "pid", "path": "relative"})),
    ]
}

fn mount() -> impl Strategy<Value = Value> {
    let options = prop::collection::vec(
        prop_oneof![Just("ro"), Just("rbind"), Just("rprivate"), Just("shared"), Just("nosuid"), Just("mode=755"), Just("size=1k"), Just("bogus")],
        0..4,
    );
    (prop_oneof![Just("/proc"), Just("/x/y"), Just("relative"), Just("/")], prop_oneof![Just("proc"), Just("bind"), Just("tmpfs"), Just("sysfs")], options)
        .prop_map(|(d, t, o)| json!({"destination": d, "type": t, "source": t, "options": o}))
}

fn config() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("1.2.0"), Just("1.0.2"), Just("invalid"), Just("2.0.0")],
        prop::collection::vec(".{0,6}", 0..3),
        prop::collection::vec(namespace(), 0..5),
        prop::collection::vec(mount(), 0..4),
        prop::collection::vec((0u32..3, 0u32..200_000, prop_oneof![Just(0u32), 1u32..70_000]), 0..3),
        prop::option::of(prop_oneof![
            Just(json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ALLOW"}]})),
            Just(json!({"defaultAction": "SCMP_ACT_NOTIFY"})),
            Just(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["nope_not_a_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]})),
        ]),
        prop::collection::vec((prop_oneof![Just("a"), Just("b"), Just("c")], prop::option::of(0i64..300), prop_oneof![Just("rwm"), Just("r"), Just("")], any::<bool>()), 0..3),
    )
        .prop_map(|(version, args, namespaces, mounts, maps, seccomp, devices)| {
            let maps: Vec<Value> = maps.into_iter().map(|(c, h, s)| json!({"containerID": c, "hostID": h, "size": s})).collect();
            let devices: Vec<Value> = devices.into_iter().map(|(t, major, access, allow)| json!({"type": t, "major": major, "access": access, "allow": allow})).collect();
            let mut linux = json!({"namespaces": namespaces, "uidMappings": maps, "gidMappings": maps, "resources": {"devices": devices}});
            if let Some(s) = seccomp {
                linux["seccomp"] = s;
            }
            json!({
                "ociVersion": version,
                "root": {"path": "rootfs", "readonly": true},
                "process": {"args": args, "cwd": "/", "user": {"uid": 0, "gid": 0}},
                "mounts": mounts,
                "linux": linux,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_config_becomes_a_plan_or_a_named_refusal(v in config()) {
        let Ok(spec) = serde_json::from_value::<Spec>(v) else { return Ok(()) };
        match Plan::from_spec(&spec, Path::new("/nonexistent-bundle")) {
            Ok(plan) => prop_assert!(!plan.process.args.is_empty()),
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.contains("ERR_INVALID_SPEC"), "{text}");
                prop_assert!(!e.field.is_empty(), "{text}");
            }
        }
    }

    #[test]
    fn arbitrary_json_never_panics_the_reader(text in "[{}\\[\\]\":,a-z0-9 ]{0,120}") {
        if let Ok(spec) = serde_json::from_str::<Spec>(&text) {
            let _ = Plan::from_spec(&spec, Path::new("/nonexistent-bundle"));
        }
    }
}
