//! Property tests for the core's parsers of input a caller or a container controls: id maps (CLI
//! form, the kernel's text, the rules the kernel enforces), the control socket's frames, and the
//! run options that become a config. Whatever arrives, the answer is a value or a clear error,
//! never a panic, and what is accepted obeys the rules it was checked against.

use nsbox_core::idmap::{parse_kernel_text, to_kernel_text, validate, IdMapping};
use nsbox_core::options::RunOptions;
use nsbox_core::protocol::{read_frame, write_frame, FromRuntime, ToRuntime, MAX_FRAME};
use proptest::prelude::*;

fn mapping() -> impl Strategy<Value = IdMapping> {
    (any::<u32>(), any::<u32>(), prop_oneof![Just(0u32), 1u32..70_000, any::<u32>()])
        .prop_map(|(inside, outside, length)| IdMapping { inside, outside, length })
}

fn overlap(a: u32, alen: u32, b: u32, blen: u32) -> bool {
    let (a, alen, b, blen) = (a as u64, alen as u64, b as u64, blen as u64);
    a < b + blen && b < a + alen
}

proptest! {
    #[test]
    fn cli_id_maps_never_panic(text in ".{0,40}") {
        let _ = IdMapping::parse("uidMap", &text);
    }

    #[test]
    fn cli_id_maps_of_numbers_parse_or_say_why(a in any::<u32>(), b in any::<u32>(), c in any::<u32>()) {
        match IdMapping::parse("uidMap", &format!("{a}:{b}:{c}")) {
            Ok(m) => prop_assert_eq!(m, IdMapping { inside: a, outside: b, length: c }),
            Err(e) => prop_assert_eq!(e.op, "uidMap"),
        }
    }

    #[test]
    fn accepted_maps_obey_the_kernels_rules(maps in prop::collection::vec(mapping(), 0..6)) {
        if validate("uidMap", &maps).is_ok() {
            for (i, m) in maps.iter().enumerate() {
                prop_assert!(m.length > 0);
                prop_assert!(m.inside.checked_add(m.length - 1).is_some() && m.outside.checked_add(m.length - 1).is_some());
                for o in &maps[i + 1..] {
                    prop_assert!(!overlap(m.inside, m.length, o.inside, o.length));
                    prop_assert!(!overlap(m.outside, m.length, o.outside, o.length));
                }
            }
            prop_assert_eq!(parse_kernel_text(&to_kernel_text(&maps)), maps);
        }
    }

    #[test]
    fn kernel_map_text_never_panics(text in "[0-9 \n\t-]{0,80}") {
        for m in parse_kernel_text(&text) {
            prop_assert!(text.contains(&m.inside.to_string()));
        }
    }

    #[test]
    fn control_frames_from_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut r = &bytes[..];
        let _ = read_frame::<_, ToRuntime>(&mut r);
        let mut r = &bytes[..];
        let _ = read_frame::<_, FromRuntime>(&mut r);
    }

    #[test]
    fn oversized_frame_lengths_are_refused_before_any_allocation(len in (MAX_FRAME + 1)..=u32::MAX) {
        let head = len.to_be_bytes();
        let mut r = &head[..];
        prop_assert!(read_frame::<_, ToRuntime>(&mut r).is_err());
    }

    #[test]
    fn control_frames_round_trip(signal in any::<i32>(), key in "[a-z]{1,8}", value in ".{0,16}") {
        let msgs = vec![ToRuntime::Kill { signal }, ToRuntime::Start, ToRuntime::Config { spec: serde_json::json!({ key: value }) }];
        let mut buf = Vec::new();
        for m in &msgs {
            write_frame(&mut buf, m).unwrap();
        }
        let mut r = &buf[..];
        for m in &msgs {
            let back: ToRuntime = read_frame(&mut r).unwrap().unwrap();
            prop_assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(m).unwrap());
        }
        prop_assert!(read_frame::<_, ToRuntime>(&mut r).unwrap().is_none());
    }

    /// The run options arrive as JSON from the addon's callers; any shape either builds a config
    /// or is refused with an error naming a field.
    #[test]
    fn run_options_build_or_name_the_field(
        command in prop::collection::vec(".{0,6}", 0..3),
        rootfs in prop::option::of(prop_oneof![Just("/".to_string()), Just("relative".to_string()), "/[a-z]{0,6}"]),
        namespaces in prop::option::of(prop::collection::vec(prop_oneof![Just("pid".to_string()), Just("user".to_string()), Just("mnt".to_string()), Just("bogus".to_string()), Just("time".to_string())], 0..4)),
        cap_add in prop::collection::vec(prop_oneof![Just("SYS_ADMIN".to_string()), Just("net_raw".to_string()), Just("nope".to_string()), Just("ALL".to_string())], 0..3),
        devices in prop::collection::vec(prop_oneof![Just("/dev/null".to_string()), Just("/dev/null:/dev/n:r".to_string()), Just("x:y:z:w".to_string()), ".{0,8}"], 0..2),
        seccomp in prop::option::of(prop_oneof![Just(serde_json::json!("default")), Just(serde_json::json!("unconfined")), Just(serde_json::json!({"defaultAction": "SCMP_ACT_BOGUS"})), Just(serde_json::json!(7))]),
        uid in prop::option::of(0u32..70_000),
        privileged in any::<bool>(),
        root_caller in any::<bool>(),
    ) {
        let caller = if root_caller { serde_json::json!({"uid": 0, "gid": 0}) } else { serde_json::json!({"uid": 1000, "gid": 1000}) };
        let mut json = serde_json::json!({
            "command": command, "rootfs": rootfs, "namespaces": namespaces, "capAdd": cap_add, "devices": devices,
            "privileged": privileged, "caller": caller,
        });
        if let Some(s) = seccomp { json["seccomp"] = s; }
        if let Some(u) = uid { json["user"] = serde_json::json!({"uid": u}); }
        let json = nsbox_core_strip_nulls(json);
        match serde_json::from_value::<RunOptions>(json) {
            Err(_) => {}
            Ok(opts) => match nsbox_core::spec::build(&opts) {
                Ok(spec) => prop_assert!(spec["process"]["args"].as_array().is_some_and(|a| !a.is_empty())),
                Err(e) => prop_assert!(!e.op.is_empty() && !e.message.is_empty(), "{e:?}"),
            },
        }
    }
}

fn nsbox_core_strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}
