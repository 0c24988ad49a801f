use super::*;
use crate::options::{UserSpec, Volume};

fn opts(cmd: &[&str]) -> RunOptions {
    RunOptions { command: cmd.iter().map(|s| s.to_string()).collect(), caller: Some(Caller { uid: 0, gid: 0, caps: None }), ..Default::default() }
}

fn ns_of(spec: &Value) -> Vec<String> {
    spec["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap().to_string()).collect()
}

#[test]
fn root_defaults_follow_docker_plus_time() {
    let s = build(&opts(&["true"])).unwrap();
    assert_eq!(ns_of(&s), ["cgroup", "ipc", "mount", "network", "pid", "time", "uts"]);
    assert_eq!(s["root"]["path"], "/");
    assert_eq!(s["root"]["readonly"], true);
    assert_eq!(s["linux"]["timeOffsets"]["boottime"]["secs"], 0);
    assert_eq!(s["process"]["capabilities"]["bounding"].as_array().unwrap().len(), 14);
    assert_eq!(s["process"]["noNewPrivileges"], true);
    let dests: Vec<&str> = s["mounts"].as_array().unwrap().iter().map(|m| m["destination"].as_str().unwrap()).collect();
    assert_eq!(dests, ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/tmp", "/run"]);
}

#[test]
fn non_root_gets_user_namespace_mapping_caller_to_root() {
    let mut o = opts(&["id"]);
    o.caller = Some(Caller { uid: 65534, gid: 65534, caps: None });
    let s = build(&o).unwrap();
    assert!(ns_of(&s).contains(&"user".to_string()));
    assert_eq!(s["linux"]["uidMappings"][0], json!({"containerID": 0, "hostID": 65534, "size": 1}));
    // gid 5 is not mapped, so devpts must not ask for it.
    let pts = s["mounts"].as_array().unwrap().iter().find(|m| m["destination"] == "/dev/pts").unwrap();
    assert!(!pts["options"].as_array().unwrap().contains(&json!("gid=5")));
}

#[test]
fn explicit_namespaces_are_exact() {
    let mut o = opts(&["true"]);
    o.namespaces = Some(vec!["uts".into()]);
    o.hostname = Some("box".into());
    let s = build(&o).unwrap();
    assert_eq!(ns_of(&s), ["uts"]);
    assert!(s["mounts"].as_array().unwrap().is_empty());
    assert_eq!(s["hostname"], "box");
}

#[test]
fn options_needing_a_namespace_name_the_field() {
    let mut o = opts(&["true"]);
    o.namespaces = Some(vec!["pid".into()]);
    o.rootfs = Some("/srv/r".into());
    assert_eq!(build(&o).unwrap_err().op, "rootfs");
    o.rootfs = None;
    o.hostname = Some("x".into());
    assert_eq!(build(&o).unwrap_err().op, "hostname");
    o.hostname = None;
    o.boottime_offset = Some(5);
    assert_eq!(build(&o).unwrap_err().op, "boottimeOffset");
}

#[test]
fn validates_command_env_rootfs_volumes_and_user() {
    assert_eq!(build(&opts(&[])).unwrap_err().op, "command");
    let mut o = opts(&["true"]);
    o.env = vec!["NOEQUALS".into()];
    assert_eq!(build(&o).unwrap_err().op, "env[0]");
    let mut o = opts(&["true"]);
    o.rootfs = Some("rel/path".into());
    assert_eq!(build(&o).unwrap_err().op, "rootfs");
    let mut o = opts(&["true"]);
    o.volumes = vec![Volume { source: "/a".into(), target: "b".into(), read_only: true }];
    assert_eq!(build(&o).unwrap_err().op, "volumes[0].target");
    let mut o = opts(&["true"]);
    o.map_root_user = true;
    o.user = Some(UserSpec { uid: 1000, gid: None, additional_gids: vec![] });
    let e = build(&o).unwrap_err();
    assert_eq!(e.op, "user");
    assert!(e.message.contains("1000"));
}

#[test]
fn maps_env_caps_init_and_offsets_land_in_the_spec() {
    let mut o = opts(&["sh"]);
    o.uid_map = vec![IdMapping { inside: 0, outside: 100000, length: 65536 }];
    o.gid_map = vec![IdMapping { inside: 0, outside: 100000, length: 65536 }];
    o.env = vec!["PATH=/bin".into(), "A=1".into()];
    o.cap_add = vec!["SYS_ADMIN".into()];
    o.init = true;
    o.boottime_offset = Some(-3600);
    o.monotonic_offset = Some(86400);
    o.read_only = true;
    o.rootfs = Some("/srv/r".into());
    o.volumes = vec![Volume { source: "/data".into(), target: "/data".into(), read_only: true }];
    let s = build(&o).unwrap();
    assert!(ns_of(&s).contains(&"user".to_string()));
    assert_eq!(s["linux"]["gidMappings"][0]["size"], 65536);
    assert_eq!(s["process"]["env"], json!(["HOME=/root", "PATH=/bin", "A=1"]));
    assert!(s["process"]["capabilities"]["effective"].as_array().unwrap().contains(&json!("CAP_SYS_ADMIN")));
    assert_eq!(s["annotations"][ANNOTATION_INIT], "true");
    assert_eq!(s["linux"]["timeOffsets"]["boottime"]["secs"], -3600);
    assert_eq!(s["linux"]["timeOffsets"]["monotonic"]["secs"], 86400);
    assert_eq!(s["root"], json!({"path": "/srv/r", "readonly": true}));
    let vol = s["mounts"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(vol["options"], json!(["rbind", "rprivate", "ro"]));
    let dests: Vec<&str> = s["mounts"].as_array().unwrap().iter().map(|m| m["destination"].as_str().unwrap()).collect();
    assert!(!dests.contains(&"/tmp"), "rootfs mode keeps the image's own /tmp");
}

#[test]
fn privileged_has_all_caps_and_no_masks() {
    let mut o = opts(&["true"]);
    o.privileged = true;
    let s = build(&o).unwrap();
    assert_eq!(s["process"]["capabilities"]["bounding"].as_array().unwrap().len(), 41);
    assert!(s["linux"].get("maskedPaths").is_none());
    assert_eq!(s["process"]["noNewPrivileges"], false);
}
