//! The container's device rules (`linux.resources.devices`) and extra nodes (`linux.devices`), as
//! docker builds them: its default list unless privileged (privileged: allow everything, `a *:*
//! rwm`), then each `--device-cgroup-rule`, then for each `--device` an allow rule with the asked
//! access and a node at the container path, typed, numbered, moded and owned as the host's node.
//!
//! Rootless (the caller is not root) no rules are written: no cgroup can be created for the
//! container, so nothing could enforce them, and the runtime refuses a config whose rules it cannot
//! apply. There the user namespace is the defence instead: mknod needs CAP_MKNOD in the initial user
//! namespace (EPERM), and every filesystem the container mounts is nodev. `--device` still works
//! rootless: the runtime binds the host's node, as it binds /dev/null and friends.

use serde_json::{Map, Value};

use crate::devices::{parse_cgroup_rule, resolve_device_option, DeviceRule, DOCKER_DEFAULT_RULES};
use crate::options::RunOptions;
use crate::WireError;

/// Adds `resources.devices` (root callers only) and `devices` (any caller) to `linux`. `mount_ns`:
/// without a mount namespace there is no /dev of the container's own to put nodes in.
pub(super) fn add(opts: &RunOptions, caller_is_root: bool, mount_ns: bool, linux: &mut Map<String, Value>) -> Result<(), WireError> {
    let mut rules: Vec<DeviceRule> =
        if opts.privileged { vec![DeviceRule { allow: true, ..DeviceRule::DENY_ALL }] } else { DOCKER_DEFAULT_RULES.to_vec() };
    for (i, r) in opts.device_cgroup_rules.iter().enumerate() {
        rules.push(parse_cgroup_rule(r).map_err(|e| field(e.to_wire(), "deviceCgroupRules", i))?);
    }
    if !opts.devices.is_empty() && !mount_ns {
        return Err(WireError::invalid_spec("devices", "needs a mount namespace (add mnt to namespaces)"));
    }
    let mut nodes = Vec::with_capacity(opts.devices.len());
    for (i, d) in opts.devices.iter().enumerate() {
        let (node, rule) = resolve_device_option(d).map_err(|e| field(e.to_wire(), "devices", i))?;
        nodes.push(serde_json::to_value(node).map_err(|e| WireError::invalid_spec(format!("devices[{i}]"), e.to_string()))?);
        rules.push(rule);
    }
    if caller_is_root {
        let oci: Vec<Value> = rules.iter().map(|r| serde_json::to_value(r.to_oci())).collect::<Result<_, _>>()
            .map_err(|e| WireError::invalid_spec("deviceCgroupRules", e.to_string()))?;
        linux.insert("resources".into(), serde_json::json!({ "devices": oci }));
    }
    if !nodes.is_empty() {
        linux.insert("devices".into(), Value::Array(nodes));
    }
    Ok(())
}

/// A parser error names the option (`--device`); the spec error names the field and entry, with
/// the option's own message (docker's text).
fn field(mut e: WireError, name: &str, i: usize) -> WireError {
    if e.code == "ERR_INVALID_SPEC" {
        e.op = format!("{name}[{i}]");
    }
    e
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::options::{Caller, RunOptions};
    use crate::spec::build;

    fn opts(uid: u32) -> RunOptions {
        RunOptions { command: vec!["true".into()], caller: Some(Caller { uid, gid: uid, caps: None }), ..Default::default() }
    }

    fn rules(spec: &serde_json::Value) -> Vec<String> {
        let list = spec["linux"]["resources"]["devices"].as_array().expect("linux.resources.devices");
        list.iter()
            .map(|r| {
                let num = |k: &str| r.get(k).map_or("*".to_string(), |n| n.to_string());
                let sign = if r["allow"] == true { "+" } else { "-" };
                format!("{sign}{} {}:{} {}", r["type"].as_str().unwrap(), num("major"), num("minor"), r["access"].as_str().unwrap())
            })
            .collect()
    }

    #[test]
    fn root_gets_docker_defaults_and_no_extra_nodes() {
        let s = build(&opts(0)).unwrap();
        let r = rules(&s);
        assert_eq!(r.len(), 12);
        assert_eq!(r[0], "-a *:* rwm");
        assert_eq!(r[1..4], ["+c 1:3 rwm", "+c 1:5 rwm", "+c 1:7 rwm"]);
        assert_eq!(r[9..], ["+c 136:* rwm", "+c *:* m", "+b *:* m"]);
        assert!(s["linux"].get("devices").is_none());
    }

    #[test]
    fn privileged_allows_everything_as_docker() {
        let mut o = opts(0);
        o.privileged = true;
        o.device_cgroup_rules = vec!["b 7:* r".into()];
        assert_eq!(rules(&build(&o).unwrap()), ["+a *:* rwm", "+b 7:* r"]);
    }

    #[test]
    fn device_options_add_a_rule_and_a_node_like_the_hosts() {
        let mut o = opts(0);
        o.device_cgroup_rules = vec!["c 10:200 rwm".into()];
        o.devices = vec!["/dev/null:/dev/xvdc:r".into()];
        let s = build(&o).unwrap();
        assert_eq!(rules(&s)[12..], ["+c 10:200 rwm", "+c 1:3 r"]);
        let host = crate::devices::stat_device("/dev/null").unwrap();
        assert_eq!(
            s["linux"]["devices"],
            json!([{"path": "/dev/xvdc", "type": "c", "major": 1, "minor": 3, "fileMode": host.mode, "uid": host.uid, "gid": host.gid}])
        );
    }

    #[test]
    fn rootless_writes_no_rules_but_keeps_device_nodes() {
        let mut o = opts(65534);
        o.devices = vec!["/dev/null".into()];
        o.device_cgroup_rules = vec!["c 1:3 rwm".into()];
        let s = build(&o).unwrap();
        assert!(s["linux"].get("resources").is_none(), "{}", s["linux"]);
        assert_eq!(s["linux"]["devices"][0]["path"], "/dev/null");
    }

    #[test]
    fn bad_options_name_the_entry_with_dockers_text() {
        let mut o = opts(0);
        o.device_cgroup_rules = vec!["c 1:3 rwm".into(), "x 1:3 r".into()];
        let e = build(&o).unwrap_err();
        assert_eq!((e.op.as_str(), e.message.as_str()), ("deviceCgroupRules[1]", "invalid device cgroup format 'x 1:3 r'"));
        let mut o = opts(0);
        o.devices = vec!["/dev/null:rx".into()];
        let e = build(&o).unwrap_err();
        assert_eq!((e.code.as_str(), e.op.as_str(), e.message.as_str()), ("ERR_INVALID_SPEC", "devices[0]", "invalid device mode: rx"));
        o.devices = vec!["/nonexistent-nsbox-dev".into()];
        let e = build(&o).unwrap_err();
        assert_eq!((e.code.as_str(), e.op.as_str(), e.path.as_deref()), ("ENOENT", "stat", Some("/nonexistent-nsbox-dev")));
        o.devices = vec!["/dev/null".into()];
        o.namespaces = Some(vec!["pid".into()]);
        assert_eq!(build(&o).unwrap_err().op, "devices");
    }
}
