use super::*;

fn res(j: serde_json::Value) -> Result<Resources, ResourceError> {
    Resources::from_oci(&serde_json::from_value(j).unwrap())
}

fn files(r: &Resources) -> Vec<(&str, &str, Option<&str>)> {
    r.settings.iter().map(|s| (s.v1.as_ref().unwrap().0, s.v1.as_ref().unwrap().1.as_str(), s.v2.as_ref().map(|v| v.1.as_str()))).collect()
}

#[test]
fn pids_memory_cpu() {
    let r = res(serde_json::json!({"pids": {"limit": 10}, "memory": {"limit": 1048576, "swap": 2097152, "reservation": 1024, "swappiness": 10, "disableOOMKiller": true}})).unwrap();
    assert_eq!(
        files(&r),
        vec![
            ("pids.max", "10", Some("10")),
            ("memory.limit_in_bytes", "1048576", Some("1048576")),
            ("memory.soft_limit_in_bytes", "1024", Some("1024")),
            ("memory.memsw.limit_in_bytes", "2097152", Some("1048576")),
            ("memory.swappiness", "10", None),
            ("memory.oom_control", "1", None),
        ]
    );
    let r = res(serde_json::json!({"pids": {"limit": -1}, "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}})).unwrap();
    assert_eq!(
        files(&r),
        vec![
            ("pids.max", "max", Some("max")),
            ("cpu.shares", "1024", Some("39")),
            ("cpu.cfs_period_us", "100000", Some("50000 100000")),
            ("cpu.cfs_quota_us", "50000", Some("50000 100000")),
            ("cpuset.cpus", "0", Some("0")),
            ("cpuset.mems", "0", Some("0")),
        ]
    );
    assert!(r.needs("cpuset") && !r.needs("memory"));
}

#[test]
fn refusals_name_the_field() {
    let e = |j| res(j).unwrap_err().to_string();
    assert!(e(serde_json::json!({"blockIO": {"weight": 5}})).starts_with("linux.resources.blockIO.weight: ERR_INVALID_SPEC:"));
    assert!(e(serde_json::json!({"blockIO": {"leafWeight": 10}})).starts_with("linux.resources.blockIO.leafWeight:"));
    assert!(e(serde_json::json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]})).starts_with("linux.resources.hugepageLimits:"));
    assert!(e(serde_json::json!({"network": {"classID": 1}})).starts_with("linux.resources.network:"));
    assert!(e(serde_json::json!({"rdma": {"x": {"hcaHandles": 1}}})).starts_with("linux.resources.rdma:"));
    assert!(e(serde_json::json!({"unified": {"memory.high": "1"}})).starts_with("linux.resources.unified:"));
    assert!(e(serde_json::json!({"memory": {"limit": 10, "swap": 5}})).contains("below the memory limit"));
    assert!(e(serde_json::json!({"memory": {"swappiness": 101}})).contains("above 100"));
    assert!(e(serde_json::json!({"cpu": {"shares": 1}})).contains("outside 2..262144"));
}

#[test]
fn apply_refuses_what_has_no_cgroup() {
    let r = res(serde_json::json!({"pids": {"limit": 5}})).unwrap();
    let e = apply(&r, &[], &[]).unwrap_err();
    assert!(e.to_string().starts_with("linux.resources.pids.limit: ERR_RUNTIME: the container has no cgroup of the pids controller"), "{e}");
    let dir = std::env::temp_dir().join(format!("nsbox-res-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    apply(&r, &[dir.clone()], &["pids".to_string()]).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("pids.max")).unwrap(), "5");
    let r = res(serde_json::json!({"memory": {"swappiness": 5}})).unwrap();
    std::fs::write(dir.join("cgroup.controllers"), "memory pids").unwrap();
    let e = apply(&r, &[dir.clone()], &[String::new()]).unwrap_err();
    assert!(e.to_string().contains("cgroup v2 has no such setting"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("nsbox-res-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read(d: &std::path::Path, f: &str) -> String {
    std::fs::read_to_string(d.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))
}

/// This host's controllers are all on v1, so the v2 writers run against a directory shaped like a
/// cgroup2 cgroup (its cgroup.controllers lists what is enabled): the files and values a pure v2
/// host gets.
#[test]
fn v2_files_in_a_cgroup2_shaped_tree() {
    let d = temp("v2");
    std::fs::write(d.join("cgroup.controllers"), "cpuset cpu io memory pids").unwrap();
    // The kernel has this file only with BFQ: without it the weight is refused, naming it.
    let weight = res(serde_json::json!({"blockIO": {"weight": 500}})).unwrap();
    let e = apply(&weight, &[d.clone()], &[String::new()]).unwrap_err();
    assert!(e.to_string().contains("no proportional I/O weight"), "{e}");
    std::fs::write(d.join("io.bfq.weight"), "100").unwrap();
    let r = res(serde_json::json!({
        "pids": {"limit": 50},
        "memory": {"limit": 268435456, "reservation": 134217728, "swap": 536870912},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}],
                     "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 0}]},
    }))
    .unwrap();
    apply(&r, &[d.clone()], &[String::new()]).unwrap();
    assert_eq!(read(&d, "pids.max"), "50");
    assert_eq!(read(&d, "memory.max"), "268435456");
    assert_eq!(read(&d, "memory.low"), "134217728");
    assert_eq!(read(&d, "memory.swap.max"), "268435456");
    assert_eq!(read(&d, "cpu.weight"), "20");
    assert_eq!(read(&d, "cpu.max"), "50000 100000");
    assert_eq!(read(&d, "cpuset.cpus"), "0");
    assert_eq!(read(&d, "cpuset.mems"), "0");
    assert_eq!(read(&d, "io.bfq.weight"), "500");
    // One write per device and kind; a plain file keeps the last.
    assert_eq!(read(&d, "io.max"), "254:0 wiops=max");
    // A v1-only knob is refused on v2, naming it.
    let e = apply(&res(serde_json::json!({"memory": {"disableOOMKiller": true}})).unwrap(), &[d.clone()], &[String::new()]).unwrap_err();
    assert!(e.to_string().starts_with("linux.resources.memory.disableOOMKiller: ERR_RUNTIME: cgroup v2 has no such setting"), "{e}");
    // A controller not enabled for the cgroup (not in cgroup.controllers) is refused too.
    std::fs::write(d.join("cgroup.controllers"), "memory").unwrap();
    let e = apply(&res(serde_json::json!({"pids": {"limit": 5}})).unwrap(), &[d.clone()], &[String::new()]).unwrap_err();
    assert!(e.to_string().contains("no cgroup of the pids controller"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A hybrid host: each controller where it is mounted (pids on v1, memory on the cgroup2 mount).
#[test]
fn hybrid_puts_each_controller_where_it_is() {
    let (a, b) = (temp("hy-v1"), temp("hy-v2"));
    std::fs::write(b.join("cgroup.controllers"), "memory").unwrap();
    let r = res(serde_json::json!({"pids": {"limit": 7}, "memory": {"limit": 10485760},
        "blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1024}]}})).unwrap();
    let e = apply(&r, &[a.clone(), b.clone()], &["pids".into(), String::new()]).unwrap_err();
    assert!(e.to_string().contains("no cgroup of the blkio controller"), "{e}");
    std::fs::write(b.join("cgroup.controllers"), "memory io").unwrap();
    apply(&r, &[a.clone(), b.clone()], &["pids".into(), String::new()]).unwrap();
    assert_eq!(read(&a, "pids.max"), "7");
    assert!(!a.join("memory.max").exists());
    assert_eq!(read(&b, "memory.max"), "10485760");
    assert_eq!(read(&b, "io.max"), "8:0 rbps=1024");
    let c = temp("hy-blkio");
    apply(&res(serde_json::json!({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1024}]}})).unwrap(), &[c.clone()], &["blkio".into()]).unwrap();
    assert_eq!(read(&c, "blkio.throttle.read_bps_device"), "8:0 1024");
    for d in [a, b, c] {
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn update_checks_what_is_set() {
    let d = temp("upd");
    std::fs::write(d.join("memory.limit_in_bytes"), "67108864").unwrap();
    std::fs::write(d.join("memory.memsw.limit_in_bytes"), "67108864").unwrap();
    std::fs::write(d.join("memory.usage_in_bytes"), "50000000").unwrap();
    let kinds = ["memory".to_string()];
    let e = update(&res(serde_json::json!({"memory": {"limit": 134217728}})).unwrap(), &[d.clone()], &kinds, false).unwrap_err();
    assert!(e.to_string().contains("Memory limit should be smaller than already set memoryswap limit"), "{e}");
    update(&res(serde_json::json!({"memory": {"limit": 134217728, "swap": 268435456}})).unwrap(), &[d.clone()], &kinds, false).unwrap();
    assert_eq!(read(&d, "memory.limit_in_bytes"), "134217728");
    assert_eq!(read(&d, "memory.memsw.limit_in_bytes"), "268435456");
    let e = update(&res(serde_json::json!({"memory": {"limit": 10485760, "swap": 10485760}})).unwrap(), &[d.clone()], &kinds, true).unwrap_err();
    assert!(e.to_string().contains("below the memory in use"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
