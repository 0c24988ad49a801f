use super::loopdev::LoopDevice;
use super::probe::{probe, NODE_DENIED, OK};
use super::v1_kernel::allow_loop;
use super::{own_cgroup_dir, privileged, TempDir, TestCgroup};
use crate::devices::bpf::load_insns;
use crate::devices::insn::{Insn, Reg};
use crate::devices::{apply_v1, attach, attached_program_ids, replace_all, DeviceCgroupError};
use nsbox_core::devices::{Access, DevNum, DeviceKind, DeviceRule, DOCKER_DEFAULT_RULES};

fn unified_parent(test: &str) -> Option<std::path::PathBuf> {
    if !privileged(test) {
        return None;
    }
    let dir = own_cgroup_dir(None);
    assert!(dir.is_some(), "{test}: no cgroup2 mount: device programs cannot be tested");
    dir
}

#[test]
fn v2_program_stops_opening_a_mknoded_loop_device() {
    let Some(parent) = unified_parent("v2_program_stops_opening_a_mknoded_loop_device") else { return };
    let tmp = TempDir::new();
    let lo = LoopDevice::attach(&tmp.path);
    let node = |n: &str| tmp.path.join(n);
    // Only the cgroup2 cgroup is made: the child stays in our v1 devices cgroup, which allows all,
    // so the program alone decides.
    let cg = TestCgroup::create(&parent);
    assert_eq!(attached_program_ids(&cg.dir).unwrap(), Vec::<u32>::new());
    assert_eq!(probe(&[&cg.procs()], &node("bare"), lo.major, lo.minor), OK, "without a program the same checks pass");

    let mut filter = attach(&cg.dir, &DOCKER_DEFAULT_RULES).unwrap();
    assert_eq!(attached_program_ids(&cg.dir).unwrap().len(), 1);
    assert_eq!(probe(&[&cg.procs()], &node("defaults"), lo.major, lo.minor), NODE_DENIED, "mknod allowed, opening not");

    filter.replace(&allow_loop(&lo)).unwrap();
    assert_eq!(attached_program_ids(&cg.dir).unwrap().len(), 1, "replaced, not added");
    assert_eq!(probe(&[&cg.procs()], &node("allowed"), lo.major, lo.minor), OK);

    let no_mknod = [DeviceRule::DENY_ALL, DeviceRule::allow(DeviceKind::Char, DevNum::Num(1), DevNum::Num(3), Access::RWM)];
    filter.replace(&no_mknod).unwrap();
    let got = probe(&[&cg.procs()], &node("no-mknod"), lo.major, lo.minor);
    assert_eq!((got.mknod, got.open_null_rw), (libc::EPERM, 0));

    filter.detach().unwrap();
    assert_eq!(attached_program_ids(&cg.dir).unwrap(), Vec::<u32>::new());
    assert_eq!(probe(&[&cg.procs()], &node("detached"), lo.major, lo.minor), OK);
}

#[test]
fn v2_replace_all_swaps_programs_whose_fd_was_not_kept() {
    let Some(parent) = unified_parent("v2_replace_all_swaps_programs_whose_fd_was_not_kept") else { return };
    let tmp = TempDir::new();
    let lo = LoopDevice::attach(&tmp.path);
    let cg = TestCgroup::create(&parent);
    drop(attach(&cg.dir, &allow_loop(&lo)).unwrap());
    drop(attach(&cg.dir, &allow_loop(&lo)).unwrap());
    let before = attached_program_ids(&cg.dir).unwrap();
    assert_eq!(before.len(), 2, "ALLOW_MULTI keeps both");

    let filter = replace_all(&cg.dir, &DOCKER_DEFAULT_RULES).unwrap();
    let after = attached_program_ids(&cg.dir).unwrap();
    assert_eq!(after.len(), 1);
    assert!(!before.contains(&after[0]));
    assert_eq!(probe(&[&cg.procs()], &tmp.path.join("n"), lo.major, lo.minor), NODE_DENIED);
    filter.detach().unwrap();
}

#[test]
fn hybrid_host_enforces_both_v1_list_and_v2_program() {
    let test = "hybrid_host_enforces_both_v1_list_and_v2_program";
    let Some(unified) = unified_parent(test) else { return };
    let Some(devices) = own_cgroup_dir(Some("devices")) else {
        return eprintln!("{test}: not run: no cgroup v1 devices hierarchy, so the host is not hybrid");
    };
    let tmp = TempDir::new();
    let lo = LoopDevice::attach(&tmp.path);
    let (v1, v2) = (TestCgroup::create(&devices), TestCgroup::create(&unified));
    let both = [v1.procs(), v2.procs()];
    let both: Vec<&std::path::Path> = both.iter().map(|p| p.as_path()).collect();

    apply_v1(&v1.dir, &allow_loop(&lo)).unwrap();
    let mut filter = attach(&v2.dir, &DOCKER_DEFAULT_RULES).unwrap();
    assert_eq!(probe(&both, &tmp.path.join("a"), lo.major, lo.minor), NODE_DENIED, "v1 allows, the program denies");

    apply_v1(&v1.dir, &DOCKER_DEFAULT_RULES).unwrap();
    filter.replace(&allow_loop(&lo)).unwrap();
    assert_eq!(probe(&both, &tmp.path.join("b"), lo.major, lo.minor), NODE_DENIED, "the program allows, v1 denies");

    apply_v1(&v1.dir, &allow_loop(&lo)).unwrap();
    assert_eq!(probe(&both, &tmp.path.join("c"), lo.major, lo.minor), OK, "both allow");
    filter.detach().unwrap();
}

#[test]
fn verifier_log_comes_back_in_the_error() {
    if !privileged("verifier_log_comes_back_in_the_error") {
        return;
    }
    // Exiting without setting R0: the verifier must refuse and say why.
    let e = load_insns(&[Insn::exit()], "test").unwrap_err();
    let DeviceCgroupError::BpfLoad { errno, log, .. } = &e else { panic!("{e:?}") };
    assert_eq!(*errno, nix::errno::Errno::EACCES);
    assert!(log.contains("R0 !read_ok"), "{log}");
    assert!(e.to_wire().message.contains("R0 !read_ok"));

    // Reading past the 12-byte context is refused too.
    let e = load_insns(&[Insn::ldx_w(Reg::R2, Reg::R1, 12), Insn::mov32_imm(Reg::R0, 1), Insn::exit()], "test").unwrap_err();
    assert!(matches!(&e, DeviceCgroupError::BpfLoad { log, .. } if log.contains("invalid bpf_context access")), "{e}");

    // And our own program loads under the Apache-2.0 license string: no GPL needed.
    let prog = crate::devices::compile(&DOCKER_DEFAULT_RULES).unwrap();
    load_insns(&prog, "test").unwrap();
}

#[test]
fn apply_to_cgroups_writes_v1_and_attaches_v2_and_skips_other_hierarchies() {
    let test = "apply_to_cgroups_writes_v1_and_attaches_v2_and_skips_other_hierarchies";
    let Some(unified) = unified_parent(test) else { return };
    let Some(devices) = own_cgroup_dir(Some("devices")) else {
        return eprintln!("{test}: not run: no cgroup v1 devices hierarchy, so the host is not hybrid");
    };
    let tmp = TempDir::new();
    let lo = LoopDevice::attach(&tmp.path);
    let (v1, v2) = (TestCgroup::create(&devices), TestCgroup::create(&unified));
    // Another v1 hierarchy (pids, freezer, ...) has neither devices.allow nor cgroup.controllers.
    let other = own_cgroup_dir(Some("pids")).or_else(|| own_cgroup_dir(Some("freezer"))).map(|p| TestCgroup::create(&p));
    let mut dirs = vec![v1.dir.clone(), v2.dir.clone()];
    dirs.extend(other.as_ref().map(|o| o.dir.clone()));
    let applied = crate::devices::apply_to_cgroups(&dirs, &DOCKER_DEFAULT_RULES).unwrap();
    assert_eq!((applied.v1, applied.v2), (vec![v1.dir.clone()], vec![v2.dir.clone()]));
    assert_eq!(crate::devices::read_list(&v1.dir).unwrap().len(), 11);
    assert_eq!(attached_program_ids(&v2.dir).unwrap().len(), 1, "attached, and kept after our fd was closed");
    let procs = [v1.procs(), v2.procs()];
    let procs: Vec<&std::path::Path> = procs.iter().map(|p| p.as_path()).collect();
    assert_eq!(probe(&procs, &tmp.path.join("n"), lo.major, lo.minor), NODE_DENIED);
    // A directory that holds no device cgroup files gets nothing: the caller sees an empty Applied
    // and decides (the runtime refuses to start a container whose rules went nowhere).
    assert!(crate::devices::apply_to_cgroups(&[tmp.path.join("missing")], &DOCKER_DEFAULT_RULES).unwrap().is_empty());
}
