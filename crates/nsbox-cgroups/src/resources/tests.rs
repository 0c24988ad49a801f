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
    assert!(e(serde_json::json!({"blockIO": {"weight": 10}})).starts_with("linux.resources.blockIO: ERR_INVALID_SPEC: block I/O"));
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
