//! runtime-spec fields that the spec types (oci-spec) do not model. serde drops an unknown key without a
//! word, so a field of a newer runtime-spec (per-mount `uidMappings`, say) would be ignored; we refuse
//! it instead. The test: serialize what was parsed and look for keys of the original that did not come
//! back. Null, `[]` and `{}` carry nothing and may vanish. A key that no runtime-spec defines is an
//! unknown property, which config.md's Extensibility section says a runtime MUST ignore (the suite's
//! misc_props checks it): only the names runtime-spec 1.0–1.3 defines are refused.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::spec::SpecError;

/// Parses `value` as `T`, refusing a field `T` does not model; errors name `what` (`config.json`) and
/// fields by their path under `prefix` (`linux.resources.`).
pub fn parse<T: DeserializeOwned + Serialize>(value: Value, what: &str, prefix: &str) -> Result<T, SpecError> {
    let parsed: T = serde_json::from_value(value.clone()).map_err(|e| SpecError::new(what, e.to_string()))?;
    let back = serde_json::to_value(&parsed).map_err(|e| SpecError::new(what, e.to_string()))?;
    match lost(&value, &back, String::new()) {
        Some(path) => Err(SpecError::new(
            format!("{prefix}{path}"),
            format!("this runtime-spec field (in {what}) is not supported by nsbox-runtime: its spec types do not model it; remove it"),
        )),
        None => Ok(parsed),
    }
}

/// [`parse`] from text.
pub fn parse_str<T: DeserializeOwned + Serialize>(text: &str, what: &str, prefix: &str) -> Result<T, SpecError> {
    parse(serde_json::from_str(text).map_err(|e| SpecError::new(what, e.to_string()))?, what, prefix)
}

/// Every property name runtime-spec 1.0–1.3 defines for Linux configs (config.md, config-linux.md).
const SPEC_FIELDS: &[&str] = &[
    "ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations", "linux",
    // process
    "terminal", "consoleSize", "height", "width", "cwd", "env", "args", "commandLine", "rlimits", "soft", "hard",
    "apparmorProfile", "capabilities", "effective", "bounding", "inheritable", "permitted", "ambient",
    "noNewPrivileges", "oomScoreAdj", "scheduler", "policy", "nice", "priority", "flags", "runtime", "deadline",
    "period", "selinuxLabel", "ioPriority", "class", "execCPUAffinity", "initial", "final", "user", "uid", "gid",
    "umask", "additionalGids", "username",
    // root, mounts, hooks
    "path", "readonly", "destination", "source", "options", "type", "uidMappings", "gidMappings",
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", "timeout",
    // linux
    "namespaces", "containerID", "hostID", "size", "timeOffsets", "monotonic", "boottime", "secs", "nanosecs",
    "devices", "major", "minor", "fileMode", "netDevices", "name", "cgroupsPath", "rootfsPropagation",
    "resources", "allow", "access", "memory", "limit", "reservation", "swap", "kernel", "kernelTCP",
    "swappiness", "disableOOMKiller", "useHierarchy", "checkBeforeUpdate", "cpu", "shares", "quota", "burst",
    "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle", "blockIO", "weight", "leafWeight",
    "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
    "throttleWriteIOPSDevice", "rate", "hugepageLimits", "pageSize", "network", "classID", "priorities", "pids",
    "rdma", "hcaHandles", "hcaObjects", "unified", "intelRdt", "closID", "l3CacheSchema", "memBwSchema",
    "schemata", "enableMonitoring", "enableCMT", "enableMBM", "memoryPolicy", "mode", "nodes", "sysctl",
    "seccomp", "defaultAction", "defaultErrnoRet", "architectures", "listenerPath", "listenerMetadata",
    "syscalls", "names", "action", "errnoRet", "index", "value", "valueTwo", "op", "maskedPaths",
    "readonlyPaths", "mountLabel", "personality", "domain",
];

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn lost(original: &Value, back: &Value, path: String) -> Option<String> {
    match (original, back) {
        (Value::Object(o), Value::Object(b)) => o.iter().find_map(|(k, v)| {
            let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            match b.get(k) {
                Some(bv) => lost(v, bv, p),
                None if empty(v) || !SPEC_FIELDS.contains(&k.as_str()) => None,
                None => Some(p),
            }
        }),
        (Value::Array(o), Value::Array(b)) => o.iter().enumerate().find_map(|(i, v)| {
            let p = format!("{path}[{i}]");
            match b.get(i) {
                Some(bv) => lost(v, bv, p),
                None if empty(v) => None,
                None => Some(p),
            }
        }),
        (o, _) if empty(o) => None,
        // a scalar where the types keep a structure (or the reverse) was converted, not lost
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxResources, Spec};
    use serde_json::json;

    fn check(v: &Value) -> Result<Spec, SpecError> {
        parse(v.clone(), "config.json", "")
    }

    fn base() -> Value {
        json!({
            "ociVersion": "1.0.2",
            "process": {"args": ["sh"], "cwd": "/", "env": ["A=1"], "terminal": false,
                        "user": {"uid": 0, "gid": 0}, "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]},
            "root": {"path": "rootfs", "readonly": true},
            "hostname": "h",
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
            "annotations": {"a": "b"},
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}], "maskedPaths": [], "sysctl": {"net.ipv4.ip_forward": "1"},
                      "resources": {"devices": [{"allow": false, "access": "rwm"}]}, "uidMappings": null}
        })
    }

    #[test]
    fn a_modelled_config_passes() {
        let v = base();
        assert!(check(&v).is_ok());
    }

    #[test]
    fn an_unmodelled_field_is_named_by_its_path() {
        let mut v = base();
        v["mounts"][0]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        assert_eq!(check(&v).unwrap_err().field, "mounts[0].uidMappings");
        let mut v = base();
        v["linux"]["intelRdt"] = json!({"closID": "x", "schemata": ["L3:0=f"]});
        assert_eq!(check(&v).unwrap_err().field, "linux.intelRdt.schemata");
    }

    #[test]
    fn unknown_properties_are_ignored_as_config_md_requires() {
        let mut v = base();
        v["linux"]["newThing"] = json!({"x": 1});
        v["unknown"] = json!("unknown");
        v["process"]["user"]["somethingElse"] = json!(true);
        assert!(check(&v).is_ok());
    }

    #[test]
    fn empty_unknowns_carry_nothing() {
        let mut v = base();
        v["linux"]["newList"] = json!([]);
        v["newObject"] = json!({});
        v["newNull"] = Value::Null;
        assert!(check(&v).is_ok());
    }

    #[test]
    fn other_parts_name_their_prefix() {
        let e = parse_str::<LinuxResources>(r#"{"pids": {"limit": 5}, "memory": {"limit": 1, "checkBeforeUpdate": true}}"#, "update --resources", "linux.resources.");
        let Err(e) = e else { return }; // oci-spec models checkBeforeUpdate: nothing to refuse
        assert!(e.field.starts_with("linux.resources."));
        assert!(e.msg.contains("update --resources"));
    }
}
