use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType};

use super::*;
use crate::devices::error::DeviceRuleError;

const LOOP: (DeviceKind, u32, u32) = (DeviceKind::Block, 7, 0);

#[test]
fn docker_defaults_allow_the_standard_nodes_and_only_mknod_elsewhere() {
    let r = &DOCKER_DEFAULT_RULES;
    for (major, minor) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, 0), (136, 77)] {
        assert!(permits(r, DeviceKind::Char, major, minor, Access::RWM), "c {major}:{minor}");
    }
    let (k, ma, mi) = LOOP;
    assert!(permits(r, k, ma, mi, Access::MKNOD));
    assert!(!permits(r, k, ma, mi, Access::READ));
    assert!(!permits(r, k, ma, mi, Access::from_bits(3).unwrap()), "mknod+read is not a subset of what is allowed");
    assert!(!permits(r, DeviceKind::Char, 10, 200, Access::WRITE), "/dev/net/tun is not in docker's list");
    assert_eq!(r.iter().map(|r| r.to_string()).collect::<Vec<_>>()[9..], ["c 136:* rwm", "c *:* m", "b *:* m"]);
}

#[test]
fn later_rules_win_per_access_bit() {
    let rw = |s: &str, allow| DeviceRule { allow, ..super::super::parse::parse_cgroup_rule(s).unwrap() };
    let rules = [rw("b 7:0 r", true), rw("b 7:0 w", true)];
    assert!(permits(&rules, LOOP.0, 7, 0, Access::from_bits(6).unwrap()), "r and w merge, as v1 merges them");
    let rules = [rw("b 7:* rwm", true), rw("b 7:0 w", false)];
    assert!(permits(&rules, LOOP.0, 7, 0, Access::READ));
    assert!(!permits(&rules, LOOP.0, 7, 0, Access::from_bits(6).unwrap()), "O_RDWR needs w, which the deny took");
    assert!(permits(&rules, LOOP.0, 7, 1, Access::WRITE));
}

#[test]
fn an_a_rule_resets_everything_before_it() {
    let allow_all = DeviceRule { allow: true, ..DeviceRule::DENY_ALL };
    let c13 = DOCKER_DEFAULT_RULES[1];
    assert_eq!(effective(&[c13, allow_all, c13]), (true, &[c13][..]));
    assert_eq!(effective(&[c13]), (false, &[c13][..]), "a list starts from deny-all");
    assert!(permits(&[c13, allow_all], LOOP.0, 7, 0, Access::RWM));
    assert!(!permits(&[allow_all, DeviceRule::DENY_ALL, c13], LOOP.0, 7, 0, Access::MKNOD));
}

#[test]
fn oci_resource_rules_convert_like_runc() {
    let deny_all = LinuxDeviceCgroupBuilder::default().allow(false).build().unwrap();
    assert_eq!(DeviceRule::from_oci(&deny_all, "f").unwrap(), DeviceRule::DENY_ALL, "missing type and access: a, rwm");
    let tty = LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::C).major(5).minor(-1).access("rw").build().unwrap();
    assert_eq!(DeviceRule::from_oci(&tty, "f").unwrap().to_string(), "c 5:* rw");
    let bad = LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::C).access("rx").build().unwrap();
    let e = DeviceRuleError::invalid("linux.resources.devices[3].access", "invalid device mode: rx");
    assert_eq!(DeviceRule::from_oci(&bad, "linux.resources.devices[3]"), Err(e));
    let fifo = LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::P).build().unwrap();
    assert!(DeviceRule::from_oci(&fifo, "f").is_err());
    let huge = LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::B).major(1i64 << 32).build().unwrap();
    assert!(matches!(DeviceRule::from_oci(&huge, "f"), Err(DeviceRuleError::Invalid { op, .. }) if op == "f.major"));
}

#[test]
fn oci_rules_keep_their_order_and_nodes_imply_nothing() {
    let deny = LinuxDeviceCgroupBuilder::default().allow(false).access("rwm").build().unwrap();
    let read = LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::B).major(7).minor(0).access("r").build().unwrap();
    let rules = rules_from_oci(&[deny, read.clone()]).unwrap();
    let text: Vec<(String, bool)> = rules.iter().map(|r| (r.to_string(), r.allow)).collect();
    assert_eq!(text, [("a *:* rwm".into(), false), ("b 7:0 r".into(), true)]);
    assert!(permits(&rules, LOOP.0, 7, 0, Access::READ));
    assert!(!permits(&rules, LOOP.0, 7, 0, Access::WRITE), "a read-only --device stays read-only");
    let bad = LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::C).access("").build().unwrap();
    assert!(matches!(rules_from_oci(&[read, bad]), Err(DeviceRuleError::Invalid { op, .. }) if op == "linux.resources.devices[1].access"));
}

#[test]
fn rules_round_trip_through_oci() {
    for r in DOCKER_DEFAULT_RULES.iter().chain([DeviceRule { allow: true, ..DeviceRule::DENY_ALL }].iter()) {
        assert_eq!(DeviceRule::from_oci(&r.to_oci(), "f").unwrap(), *r, "{r}");
    }
    let json = serde_json::to_value(DOCKER_DEFAULT_RULES[10].to_oci()).unwrap();
    assert_eq!(json, serde_json::json!({"allow": true, "type": "c", "access": "m"}));
    assert_eq!(standard_node_rules().len(), 9);
    assert!(standard_node_rules().iter().all(|r| r.allow && r.kind == DeviceKind::Char && r.access == Access::RWM));
}
