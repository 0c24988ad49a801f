use nix::errno::Errno;

use super::loopdev::LoopDevice;
use super::probe::{probe, NODE_DENIED, OK};
use super::{own_cgroup_dir, privileged, TempDir, TestCgroup};
use crate::devices::{apply_v1, read_list, DeviceCgroupError};
use nsbox_core::devices::{Access, DevNum, DeviceKind, DeviceRule, DOCKER_DEFAULT_RULES};

fn devices_parent(test: &str) -> Option<std::path::PathBuf> {
    if !privileged(test) {
        return None;
    }
    let dir = own_cgroup_dir(Some("devices"));
    if dir.is_none() {
        eprintln!("{test}: not run: this host has no cgroup v1 devices hierarchy (pure cgroup v2)");
    }
    dir
}

pub fn allow_loop(lo: &LoopDevice) -> Vec<DeviceRule> {
    let mut rules = DOCKER_DEFAULT_RULES.to_vec();
    rules.push(DeviceRule::allow(DeviceKind::Block, DevNum::Num(lo.major), DevNum::Num(lo.minor), Access::RWM));
    rules
}

#[test]
fn v1_docker_defaults_stop_opening_a_mknoded_loop_device() {
    let Some(parent) = devices_parent("v1_docker_defaults_stop_opening_a_mknoded_loop_device") else { return };
    let tmp = TempDir::new();
    let lo = LoopDevice::attach(&tmp.path);
    let node = |n: &str| tmp.path.join(n);

    // The control: a fresh cgroup inherits `a *:* rwm`, and the attack works there.
    let bare = TestCgroup::create(&parent);
    assert_eq!(read_list(&bare.dir).unwrap(), ["a *:* rwm"]);
    assert_eq!(probe(&[&bare.procs()], &node("bare"), lo.major, lo.minor), OK, "without rules the same checks pass");

    let cg = TestCgroup::create(&parent);
    apply_v1(&cg.dir, &DOCKER_DEFAULT_RULES).unwrap();
    assert_eq!(read_list(&cg.dir).unwrap().len(), 11);
    assert_eq!(probe(&[&cg.procs()], &node("defaults"), lo.major, lo.minor), NODE_DENIED, "mknod allowed, opening not");

    // Applying again is an update: `a` resets, so this list replaces the first.
    apply_v1(&cg.dir, &allow_loop(&lo)).unwrap();
    assert_eq!(probe(&[&cg.procs()], &node("allowed"), lo.major, lo.minor), OK);

    let read_only = [DeviceRule::DENY_ALL, DeviceRule::allow(DeviceKind::Block, DevNum::Num(lo.major), DevNum::Any, Access::from_bits(3).unwrap())];
    apply_v1(&cg.dir, &read_only).unwrap();
    let got = probe(&[&cg.procs()], &node("ro"), lo.major, lo.minor);
    assert_eq!((got.mknod, got.open_node_rw, got.open_null_rw), (0, libc::EPERM, libc::EPERM), "O_RDWR needs w; /dev/null is not listed");
}

#[test]
fn v1_write_errors_name_the_file_and_errno() {
    let Some(parent) = devices_parent("v1_write_errors_name_the_file_and_errno") else { return };
    let outer = TestCgroup::create(&parent);
    apply_v1(&outer.dir, &DOCKER_DEFAULT_RULES).unwrap();
    let inner = TestCgroup::create(&outer.dir);

    // A child can never allow what its parent does not.
    let loop0 = DeviceRule::allow(DeviceKind::Block, DevNum::Num(7), DevNum::Num(0), Access::RWM);
    let e = apply_v1(&inner.dir, &[loop0]).unwrap_err();
    let want = inner.dir.join("devices.allow").display().to_string();
    assert_eq!(e, DeviceCgroupError::Sys { op: "write devices.allow", path: want.clone(), errno: Errno::EPERM });
    assert_eq!(e.to_wire().path.as_deref(), Some(want.as_str()));

    // `a` cannot be written while the cgroup has children.
    let e = apply_v1(&outer.dir, &DOCKER_DEFAULT_RULES).unwrap_err();
    let want = outer.dir.join("devices.deny").display().to_string();
    assert_eq!(e, DeviceCgroupError::Sys { op: "write devices.deny", path: want, errno: Errno::EINVAL });
    drop(inner);

    let gone = outer.dir.join("no-such-cgroup");
    let e = apply_v1(&gone, &DOCKER_DEFAULT_RULES).unwrap_err();
    assert!(matches!(e, DeviceCgroupError::Sys { op: "write devices.deny", errno: Errno::ENOENT, .. }), "{e}");
}
