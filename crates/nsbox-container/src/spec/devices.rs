//! The config's device part, read into plain fields: the rules to enforce in the container's
//! cgroups (`linux.resources.devices`) and the nodes to create in its root (`linux.devices`).

use nix::sys::stat::SFlag;
use nsbox_core::devices::{rules_from_oci, standard_node_rules, Access, DevNum, DeviceKind, DeviceRule};
use oci_spec::runtime::{Linux, LinuxDevice, LinuxDeviceType};

use super::plan::SpecError;

/// One `linux.devices` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNode {
    /// Absolute, inside the container's root (any directory, not only /dev, as OCI allows).
    pub path: String,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    /// Permission bits; the spec's default when left out is 0666, as runc's.
    pub mode: u32,
    /// Container ids to chown to; None leaves the creator's (container root).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicePlan {
    /// Empty: the config has no `linux.resources.devices`, and the cgroups keep what they inherit.
    /// Otherwise the config's rules followed by allows for the nodes the runtime itself puts in
    /// every /dev (null, zero, full, random, urandom, tty, console, ptmx, pts/*), as runc, crun
    /// and youki append them: a config that denies everything still gets a usable /dev/null.
    /// Last, `m` alone for each `linux.devices` node: the rules are in force before the child
    /// builds its root (runc sets them only after), so the runtime's own mknod of those nodes
    /// needs it; whether they may be opened stays the config's rules' decision.
    pub rules: Vec<DeviceRule>,
    pub nodes: Vec<DeviceNode>,
}

impl DevicePlan {
    pub fn from_linux(linux: &Linux) -> Result<DevicePlan, SpecError> {
        let resources = linux.resources().as_ref().and_then(|r| r.devices().clone()).unwrap_or_default();
        let mut rules = rules_from_oci(&resources).map_err(|e| SpecError::new(e.to_wire().op, e.to_string()))?;
        let nodes: Vec<DeviceNode> = linux.devices().iter().flatten().enumerate().map(|(i, d)| node(i, d)).collect::<Result<_, _>>()?;
        if !rules.is_empty() {
            rules.extend_from_slice(standard_node_rules());
            rules.extend(nodes.iter().filter_map(mknod_rule));
        }
        Ok(DevicePlan { rules, nodes })
    }
}

/// FIFOs are not devices to the devices cgroup, so they need no rule.
fn mknod_rule(n: &DeviceNode) -> Option<DeviceRule> {
    let kind = match n.kind {
        SFlag::S_IFBLK => DeviceKind::Block,
        SFlag::S_IFCHR => DeviceKind::Char,
        _ => return None,
    };
    // Numbers were checked to fit u32 when the node was read.
    Some(DeviceRule::allow(kind, DevNum::Num(n.major as u32), DevNum::Num(n.minor as u32), Access::MKNOD))
}

fn node(i: usize, d: &LinuxDevice) -> Result<DeviceNode, SpecError> {
    let field = |f: &str| format!("linux.devices[{i}].{f}");
    let path = d.path().to_string_lossy().into_owned();
    if !path.starts_with('/') || path.trim_end_matches('/').is_empty() {
        return Err(SpecError::new(field("path"), format!("{path:?} is not an absolute path below /")));
    }
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => return Err(SpecError::new(field("type"), "a device node cannot be of type a")),
    };
    let num = |f: &str, n: i64| u32::try_from(n).map(u64::from).map_err(|_| SpecError::new(field(f), format!("device number {n} is out of range")));
    let mode = d.file_mode().unwrap_or(0o666);
    if mode & !0o7777 != 0 {
        return Err(SpecError::new(field("fileMode"), format!("{mode:#o} has bits beyond the permission bits")));
    }
    Ok(DeviceNode { path, kind, major: num("major", d.major())?, minor: num("minor", d.minor())?, mode, uid: d.uid(), gid: d.gid() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(json: serde_json::Value) -> Linux {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn no_rules_means_nothing_to_enforce() {
        assert_eq!(DevicePlan::from_linux(&Linux::default()).unwrap(), DevicePlan::default());
    }

    #[test]
    fn rules_keep_their_order_then_the_standard_nodes() {
        let l = linux(serde_json::json!({"resources": {"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "b", "major": 7, "minor": 3, "access": "r"},
        ]}}));
        let p = DevicePlan::from_linux(&l).unwrap();
        let text: Vec<String> = p.rules.iter().map(|r| format!("{}{r}", if r.allow { "+" } else { "-" })).collect();
        assert_eq!(text[..3], ["-a *:* rwm", "+b 7:3 r", "+c 1:3 rwm"]);
        assert_eq!(text.last().unwrap(), "+c 136:* rwm");
        assert_eq!(text.len(), 11);
        let mut l = l;
        l.set_devices(Some(vec![serde_json::from_value(
            serde_json::json!({"path": "/dev/xvdc", "type": "b", "major": 7, "minor": 3}),
        ).unwrap()]));
        let p = DevicePlan::from_linux(&l).unwrap();
        let last = p.rules.last().unwrap();
        assert_eq!((last.to_string(), last.allow), ("b 7:3 m".to_string(), true), "the runtime may mknod the node, not open it");
        assert!(!nsbox_core::devices::permits(&p.rules, DeviceKind::Block, 7, 3, Access::WRITE));
    }

    #[test]
    fn nodes_carry_type_numbers_mode_and_owner() {
        let l = linux(serde_json::json!({"devices": [
            {"path": "/dev/xvdc", "type": "b", "major": 7, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 6},
            {"path": "/opt/fifo", "type": "p", "major": 0, "minor": 0},
        ]}));
        let p = DevicePlan::from_linux(&l).unwrap();
        assert!(p.rules.is_empty(), "nodes alone imply no rules");
        let want = DeviceNode { path: "/dev/xvdc".into(), kind: SFlag::S_IFBLK, major: 7, minor: 3, mode: 0o640, uid: Some(1000), gid: Some(6) };
        assert_eq!(p.nodes[0], want);
        assert_eq!((p.nodes[1].kind, p.nodes[1].mode, p.nodes[1].uid), (SFlag::S_IFIFO, 0o666, None));
    }

    #[test]
    fn bad_entries_name_their_field() {
        let bad = |d: serde_json::Value| DevicePlan::from_linux(&linux(serde_json::json!({"devices": [d]}))).unwrap_err().field;
        assert_eq!(bad(serde_json::json!({"path": "dev/x", "type": "c", "major": 1, "minor": 3})), "linux.devices[0].path");
        assert_eq!(bad(serde_json::json!({"path": "/dev/x", "type": "c", "major": -2, "minor": 3})), "linux.devices[0].major");
        assert_eq!(bad(serde_json::json!({"path": "/dev/x", "type": "c", "major": 1, "minor": 3, "fileMode": 0o170000})), "linux.devices[0].fileMode");
        let e = DevicePlan::from_linux(&linux(serde_json::json!({"resources": {"devices": [{"allow": true, "access": "rx"}]}}))).unwrap_err();
        assert_eq!((e.field.as_str(), e.msg.as_str()), ("linux.resources.devices[0].access", "invalid device mode: rx"));
    }
}
