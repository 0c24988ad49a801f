use proptest::prelude::*;

use super::*;

fn msg(e: DeviceRuleError) -> String {
    e.to_string()
}

#[test]
fn access_strings_are_rwm_subsets_without_repeats() {
    assert_eq!(parse_access("rwm").unwrap(), Access::RWM);
    assert_eq!(parse_access("mr").unwrap().to_string(), "rm");
    assert_eq!(parse_access("w").unwrap(), Access::WRITE);
    for bad in ["", "x", "rr", "rwmr", "RW", "r w", "rwx"] {
        assert_eq!(msg(parse_access(bad).unwrap_err()), format!("invalid device mode: {bad}"), "{bad:?}");
    }
}

#[test]
fn device_option_forms_of_docker() {
    let m = |h: &str, c: &str, a: &str| DeviceMapping { host: h.into(), container: c.into(), access: a.parse().unwrap() };
    assert_eq!(parse_device("/dev/loop0").unwrap(), m("/dev/loop0", "/dev/loop0", "rwm"));
    assert_eq!(parse_device("/dev/loop0:/dev/xvdc").unwrap(), m("/dev/loop0", "/dev/xvdc", "rwm"));
    assert_eq!(parse_device("/dev/loop0:rw").unwrap(), m("/dev/loop0", "/dev/loop0", "rw"));
    assert_eq!(parse_device("/dev/loop0:/dev/xvdc:r").unwrap(), m("/dev/loop0", "/dev/xvdc", "r"));
}

#[test]
fn device_option_errors_keep_docker_texts() {
    assert_eq!(msg(parse_device("/dev/kmsg:/dev/kmsg1:rd").unwrap_err()), "invalid device mode: rd");
    assert_eq!(msg(parse_device("/dev/kmsg:x").unwrap_err()), "invalid device mode: x");
    assert_eq!(msg(parse_device("/dev/a:/b:r:w").unwrap_err()), "invalid device specification: /dev/a:/b:r:w");
    for bad in ["", "dev/sda", ":/dev/x", "/dev/a:rw:r", "/dev/a::r", "/dev/a:/b:"] {
        let e = parse_device(bad).unwrap_err();
        assert!(matches!(&e, DeviceRuleError::Invalid { op, .. } if op == "--device"), "{bad:?}: {e:?}");
        assert!(msg(e).starts_with("invalid device"), "{bad:?}");
    }
    assert_eq!(msg(parse_device("/dev/a:/b:").unwrap_err()), "invalid device mode: ");
}

#[test]
fn cgroup_rule_form_of_docker() {
    let r = parse_cgroup_rule("c 1:3 rwm").unwrap();
    assert_eq!(r, DeviceRule::allow(DeviceKind::Char, DevNum::Num(1), DevNum::Num(3), Access::RWM));
    assert_eq!(parse_cgroup_rule("b 7:* mr").unwrap().to_string(), "b 7:* rm");
    assert_eq!(parse_cgroup_rule("a *:* m").unwrap().kind, DeviceKind::All);
    assert_eq!(parse_cgroup_rule("c 4294967295:0 r").unwrap().major, DevNum::Num(u32::MAX));
    for bad in ["", "c 1:3", "x 1:3 rwm", "c 1:3  rwm", "c 1 rwm", "c +1:3 r", "c -1:3 r", "c 1:3 rwmm", "c 4294967296:0 r", "c 1:3 rwm ", "c :3 r"] {
        assert_eq!(msg(parse_cgroup_rule(bad).unwrap_err()), format!("invalid device cgroup format '{bad}'"), "{bad:?}");
    }
}

fn access() -> impl Strategy<Value = Access> {
    (1u8..=7).prop_map(|b| Access::from_bits(b).unwrap())
}

fn num() -> impl Strategy<Value = DevNum> {
    prop_oneof![Just(DevNum::Any), any::<u32>().prop_map(DevNum::Num)]
}

fn rule() -> impl Strategy<Value = DeviceRule> {
    let kind = prop_oneof![Just(DeviceKind::All), Just(DeviceKind::Block), Just(DeviceKind::Char)];
    (kind, num(), num(), access()).prop_map(|(kind, major, minor, access)| DeviceRule { kind, major, minor, access, allow: true })
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,40}") {
        let _ = parse_access(&s);
        let _ = parse_device(&s);
        let _ = parse_cgroup_rule(&s);
    }

    #[test]
    fn near_miss_strings_never_panic(s in "[abcrwm0-9*:/ +-]{0,24}") {
        let _ = parse_access(&s);
        let _ = parse_device(&s);
        let _ = parse_cgroup_rule(&s);
    }

    #[test]
    fn access_round_trips(a in access()) {
        prop_assert_eq!(parse_access(&a.to_string())?, a);
    }

    #[test]
    fn any_accepted_access_string_is_a_permutation_of_its_display(s in "[rwmx]{0,4}") {
        if let Ok(a) = parse_access(&s) {
            let mut got: Vec<char> = s.chars().collect();
            let mut want: Vec<char> = a.to_string().chars().collect();
            got.sort();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn cgroup_rules_round_trip(r in rule()) {
        prop_assert_eq!(parse_cgroup_rule(&r.to_string())?, r);
    }

    #[test]
    fn device_mappings_round_trip(host in "/[a-z0-9/._-]{0,20}", container in "/[a-z0-9/._-]{0,20}", a in access()) {
        let m = DeviceMapping { host, container, access: a };
        prop_assert_eq!(parse_device(&m.to_string())?, m);
    }

    #[test]
    fn accepted_device_options_reparse_from_their_display(s in "(/[a-z]{1,4}){1,2}(:(/[a-z]{1,3}|[rwm]{1,3})){0,2}") {
        if let Ok(m) = parse_device(&s) {
            prop_assert_eq!(parse_device(&m.to_string())?, m);
        }
    }
}
