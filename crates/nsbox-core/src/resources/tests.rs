use serde_json::json;

use super::*;

fn host() -> Host {
    Host { cpus: "0-1".into(), mems: "0".into(), ncpu: 2, bfq: false, sys_resource: false, hard_limit: |_| 20000 }
}

fn opts(j: serde_json::Value) -> ResourceOptions {
    serde_json::from_value(j).unwrap()
}

fn section(j: serde_json::Value) -> Result<Value, String> {
    opts(j).linux_resources(&host()).map(Value::Object).map_err(|e| e.to_string())
}

#[test]
fn docker_units_become_the_oci_section() {
    let s = section(json!({"memory": "256m", "memorySwap": "512m", "memoryReservation": "128m", "cpus": "1.5",
        "cpuShares": 512, "cpusetCpus": "0", "cpusetMems": "0", "pidsLimit": 200, "oomKillDisable": true, "kernelMemory": "64m"}))
    .unwrap();
    assert_eq!(
        s,
        json!({
            "memory": {"limit": 268435456, "reservation": 134217728, "swap": 536870912, "disableOOMKiller": true},
            "cpu": {"shares": 512, "period": 100000, "quota": 150000, "cpus": "0", "mems": "0"},
            "pids": {"limit": 200},
        })
    );
    assert_eq!(section(json!({"pidsLimit": 0, "memory": 7340032, "memorySwap": -1, "cpus": 0.5})).unwrap(), json!({
        "memory": {"limit": 7340032, "swap": -1}, "cpu": {"period": 100000, "quota": 50000}, "pids": {"limit": -1}}));
    assert_eq!(section(json!({"cpuPeriod": 50000, "cpuQuota": 25000})).unwrap()["cpu"], json!({"period": 50000, "quota": 25000}));
    assert_eq!(section(json!({})).unwrap(), json!({}));
    assert_eq!(opts(json!({"kernelMemory": "1g"})).warnings().len(), 1);
}

#[test]
fn docker_messages_name_the_option() {
    let e = |j| section(j).unwrap_err();
    assert_eq!(e(json!({"memory": "4m"})), "resources.memory: ERR_INVALID_SPEC: Minimum memory limit allowed is 6MB");
    assert_eq!(e(json!({"memory": "lots"})), "resources.memory: ERR_INVALID_SPEC: invalid size: 'lots'");
    assert!(e(json!({"memoryReservation": "1m"})).contains("Minimum memory reservation allowed is 6MB"));
    assert!(e(json!({"memory": "10m", "memoryReservation": "20m"})).contains("Minimum memory limit can not be less than memory reservation limit"));
    assert!(e(json!({"memorySwap": "20m"})).starts_with("resources.memorySwap: ERR_INVALID_SPEC: You should always set the Memory limit"));
    assert!(e(json!({"memory": "20m", "memorySwap": "10m"})).contains("Minimum memoryswap limit should be larger than memory limit"));
    assert_eq!(e(json!({"cpus": "3"})), "resources.cpus: ERR_INVALID_SPEC: Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
    assert!(e(json!({"cpus": "0.001"})).contains("Range of CPUs is from 0.01"));
    assert!(e(json!({"cpus": "x"})).contains("failed to parse x as a rational number"));
    assert!(e(json!({"cpus": "1", "cpuPeriod": 10000})).contains("Nano CPUs and CPU Period cannot both be set"));
    assert!(e(json!({"cpus": "1", "cpuQuota": 10000})).contains("Nano CPUs and CPU Quota cannot both be set"));
    assert!(e(json!({"cpuPeriod": 100})).contains("CPU cfs period can not be less than 1ms"));
    assert!(e(json!({"cpuQuota": 100})).contains("CPU cfs quota can not be less than 1ms"));
    assert!(e(json!({"cpuShares": 1})).starts_with("resources.cpuShares:"));
    assert_eq!(e(json!({"cpusetCpus": "5"})), "resources.cpusetCpus: ERR_INVALID_SPEC: Requested CPUs are not available - requested 5, available: 0-1");
    assert!(e(json!({"cpusetCpus": "a-"})).contains("Invalid value a- for cpuset cpus"));
    assert!(e(json!({"cpusetMems": "1"})).contains("Requested memory nodes are not available - requested 1, available: 0"));
    assert!(e(json!({"blkioWeight": 5})).contains("Range of blkio weight is from 10 to 1000"));
    assert!(e(json!({"blkioWeight": 500})).contains("no block device uses the BFQ scheduler"));
    assert!(e(json!({"deviceReadBps": ["/dev/null"]})).contains("bad format: /dev/null"));
    assert!(e(json!({"deviceReadBps": ["/dev/null:fast"]})).starts_with("resources.deviceReadBps[0]: ERR_INVALID_SPEC: invalid rate for device: /dev/null:fast."));
    assert!(e(json!({"deviceWriteIops": ["/dev/null:1k"]})).contains("Number must be a positive integer"));
    assert!(e(json!({"deviceReadBps": ["/dev/null:1mb"]})).contains("/dev/null is not a block device"));
    assert!(e(json!({"deviceReadBps": ["/dev/nope:1mb"]})).contains("ENOENT"));
}

#[test]
fn ulimits_as_docker_reads_them() {
    let h = Host { sys_resource: true, ..host() };
    let r = opts(json!({"ulimits": ["nofile=512:1024", "core=0", {"name": "nproc", "soft": 100}, "stack=unlimited"]})).rlimits(&h).unwrap();
    assert_eq!(
        r,
        vec![
            json!({"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024}),
            json!({"type": "RLIMIT_CORE", "soft": 0, "hard": 0}),
            json!({"type": "RLIMIT_NPROC", "soft": 100, "hard": 100}),
            json!({"type": "RLIMIT_STACK", "soft": u64::MAX, "hard": u64::MAX}),
        ]
    );
    let e = |j, h: &Host| opts(json!({ "ulimits": [j] })).rlimits(h).unwrap_err().to_string();
    assert!(e(json!("foo=1"), &h).ends_with("invalid ulimit type: foo"));
    assert!(e(json!("nofile"), &h).ends_with("invalid ulimit argument: nofile"));
    assert!(e(json!("nofile=1:2:3"), &h).contains("too many limit value arguments"));
    assert!(e(json!("nofile=20:10"), &h).ends_with("ulimit soft limit must be less than or equal to hard limit: 20 > 10"));
    // Without CAP_SYS_RESOURCE nothing may go above the caller's hard limit.
    assert_eq!(
        e(json!("nofile=30000"), &host()),
        "resources.ulimits[0]: ERR_INVALID_SPEC: nofile: hard limit 30000 is above the caller's hard limit 20000; raising it needs CAP_SYS_RESOURCE, which the caller does not have"
    );
    assert!(opts(json!({"ulimits": ["nofile=512:512"]})).rlimits(&host()).is_ok());
}

#[test]
fn shm_and_tmpfs() {
    let (shm, t) = tmpfs_mounts(&opts(json!({"shmSize": "128m", "tmpfs": ["/run:size=1g,mode=755,exec", "/data"]}))).unwrap();
    assert_eq!(shm, Some(128 << 20));
    assert_eq!(t[0], TmpfsMount { destination: "/run".into(), options: vec!["nosuid".into(), "nodev".into(), "size=1073741824".into(), "mode=755".into(), "exec".into()] });
    assert_eq!(t[1].options, vec!["noexec", "nosuid", "nodev"]);
    let e = |j| tmpfs_mounts(&opts(j)).unwrap_err().to_string();
    assert!(e(json!({"tmpfs": ["run"]})).starts_with("resources.tmpfs[0]: ERR_INVALID_SPEC: invalid mount path"));
    assert!(e(json!({"tmpfs": ["/x:size=big"]})).contains("invalid size: 'big'"));
    assert!(e(json!({"tmpfs": ["/x:bogus"]})).contains("invalid tmpfs option \"bogus\""));
    assert!(e(json!({"tmpfs": ["/x", "/x"]})).contains("duplicate mount point"));
    assert!(e(json!({"shmSize": "-5"})).starts_with("resources.shmSize:"));
}

#[test]
fn through_build() {
    use crate::options::{Caller, RunOptions};
    let o = RunOptions {
        command: vec!["true".into()],
        caller: Some(Caller { uid: 0, gid: 0, caps: None }),
        resources: Some(opts(json!({"memory": "64m", "pidsLimit": 20, "ulimits": ["nofile=512:512"], "shmSize": "1m", "tmpfs": ["/tmp:size=8m"]}))),
        ..Default::default()
    };
    let s = crate::spec::build(&o).unwrap();
    assert_eq!(s["linux"]["resources"]["memory"]["limit"], 64 << 20);
    assert_eq!(s["linux"]["resources"]["pids"]["limit"], 20);
    assert!(s["linux"]["resources"]["devices"].is_array(), "device rules stay: {}", s["linux"]["resources"]);
    assert_eq!(s["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
    let m = |d: &str| s["mounts"].as_array().unwrap().iter().find(|m| m["destination"] == d).unwrap()["options"].clone();
    assert!(m("/dev/shm").as_array().unwrap().contains(&json!("size=1048576")));
    assert!(m("/tmp").as_array().unwrap().contains(&json!("size=8388608")));
    assert!(m("/run").as_array().unwrap().contains(&json!("size=64m")));
}
