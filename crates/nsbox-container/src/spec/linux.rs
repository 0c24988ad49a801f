//! The config's top-level and `linux` fields beyond mounts and the process: `ociVersion`, the
//! namespaces (new or joined by path), `sysctl`, `personality`, `rootfsPropagation`, and the fields
//! this runtime refuses (`intelRdt`, `memoryPolicy`, `mountLabel`, `netDevices`).

use std::path::PathBuf;

use nix::mount::MsFlags;
use nsbox_core::namespaces::NsKind;
use oci_spec::runtime::{Linux, LinuxNamespaceType, LinuxPersonalityDomain, Spec};

use super::mounts::propagation_of;
use super::plan::{Result, SpecError};

/// The runtime-spec versions this runtime implements: 1.0.0 up to 1.2.x.
const MAX_MINOR: u64 = 2;

/// `ociVersion` must be a semantic version this runtime implements (1.0.0–1.2.x, pre-releases
/// and build metadata allowed: engines write `1.0.2-dev`).
pub fn check_version(v: &str) -> Result<()> {
    let bad = |why: &str| SpecError::new("ociVersion", format!("{v:?} {why}"));
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let nums: Option<Vec<u64>> = parts.iter().map(|p| if p.is_empty() || (p.len() > 1 && p.starts_with('0')) { None } else { p.parse().ok() }).collect();
    match nums.as_deref() {
        Some([1, minor, _]) if *minor <= MAX_MINOR => Ok(()),
        Some([1, _, _]) => Err(bad("is newer than this runtime implements (1.0.0 to 1.2.x)")),
        Some([_, _, _]) => Err(bad("is not a runtime-spec version this runtime implements (1.0.0 to 1.2.x)")),
        _ => Err(bad("is not a semantic version (MAJOR.MINOR.PATCH)")),
    }
}

pub fn kind_of(t: LinuxNamespaceType) -> NsKind {
    match t {
        LinuxNamespaceType::Cgroup => NsKind::Cgroup,
        LinuxNamespaceType::Ipc => NsKind::Ipc,
        LinuxNamespaceType::Mount => NsKind::Mnt,
        LinuxNamespaceType::Network => NsKind::Net,
        LinuxNamespaceType::Pid => NsKind::Pid,
        LinuxNamespaceType::Time => NsKind::Time,
        LinuxNamespaceType::User => NsKind::User,
        LinuxNamespaceType::Uts => NsKind::Uts,
    }
}

/// Every namespace the container gets (sorted), and of those the ones it joins by path.
pub fn namespaces(linux: &Linux) -> Result<(Vec<NsKind>, Vec<(NsKind, PathBuf)>)> {
    let mut kinds = Vec::new();
    let mut join = Vec::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        let kind = kind_of(ns.typ());
        if kinds.contains(&kind) {
            return Err(SpecError::new(format!("linux.namespaces[{i}]"), format!("{} is listed twice", kind.proc_name())));
        }
        kinds.push(kind);
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(SpecError::new(format!("linux.namespaces[{i}].path"), format!("{} is not absolute", p.display())));
            }
            join.push((kind, p.clone()));
        }
    }
    kinds.sort();
    let joined = |k: NsKind| join.iter().any(|(j, _)| *j == k);
    let new = |k: NsKind| kinds.contains(&k) && !joined(k);
    // A user namespace joined, or made after joining others, has to come before the namespaces
    // made for the container (they belong to it): the child makes those itself with unshare, which
    // cannot make it PID 1 of a new pid namespace.
    let late_user = joined(NsKind::User) || (new(NsKind::User) && !join.is_empty());
    if late_user && new(NsKind::Pid) {
        return Err(SpecError::new(
            "linux.namespaces",
            "a new pid namespace together with a user namespace that is joined by path (or made after joining other namespaces) is not supported; join the pid namespace by path too",
        ));
    }
    if joined(NsKind::User) && (linux.uid_mappings().is_some() || linux.gid_mappings().is_some()) {
        return Err(SpecError::new("linux.uidMappings", "the user namespace is joined by path: its id maps are already set, give none"));
    }
    if joined(NsKind::Time) && linux.time_offsets().is_some() {
        return Err(SpecError::new("linux.timeOffsets", "the time namespace is joined by path: its offsets are already set, give none"));
    }
    Ok((kinds, join))
}

/// runc's rule: a sysctl is written only into a namespace of the container's own, so only the
/// namespaced ones are allowed, each with its namespace.
pub fn sysctls(linux: &Linux, kinds: &[NsKind]) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut keys: Vec<&String> = linux.sysctl().iter().flatten().map(|(k, _)| k).collect();
    keys.sort();
    for key in keys {
        let value = &linux.sysctl().as_ref().expect("listed")[key];
        let field = format!("linux.sysctl.{key}");
        let path = key.replace('.', "/");
        if path.split('/').any(|c| c.is_empty() || c == ".." || c == ".") {
            return Err(SpecError::new(field, "is not a sysctl name"));
        }
        let ipc = matches!(key.as_str(), "kernel.sem") || key.starts_with("kernel.msg") || key.starts_with("kernel.shm") || key.starts_with("fs.mqueue.");
        let need = if ipc {
            NsKind::Ipc
        } else if key.starts_with("net.") {
            NsKind::Net
        } else if key == "kernel.hostname" || key == "kernel.domainname" {
            NsKind::Uts
        } else {
            return Err(SpecError::new(field, "is not a namespaced sysctl: only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* (ipc), net.* (net) and kernel.hostname, kernel.domainname (uts) can be set"));
        };
        if !kinds.contains(&need) {
            return Err(SpecError::new(field, format!("needs a {} namespace of the container's own (add it to linux.namespaces)", need.proc_name())));
        }
        out.push((path, value.clone()));
    }
    Ok(out)
}

/// personality(2)'s persona: PER_LINUX or PER_LINUX32; flags are refused.
pub fn personality(linux: &Linux) -> Result<Option<u64>> {
    let Some(p) = linux.personality() else { return Ok(None) };
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(SpecError::new("linux.personality.flags", "personality flags are not supported"));
    }
    Ok(Some(match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0,
        LinuxPersonalityDomain::PerLinux32 => 8,
    }))
}

/// `rootfsPropagation`: applied to the container's `/` once it is its root.
pub fn root_propagation(linux: &Linux) -> Result<Option<MsFlags>> {
    match linux.rootfs_propagation().as_deref() {
        None | Some("") => Ok(None),
        Some(p) => propagation_of(p).map(Some).ok_or_else(|| {
            SpecError::new("linux.rootfsPropagation", format!("{p:?} is not one of shared, slave, private, unbindable (or their r* forms)"))
        }),
    }
}

/// Fields this runtime does not implement, refused rather than ignored.
pub fn refuse_unsupported(spec: &Spec, linux: &Linux, kinds: &[NsKind]) -> Result<()> {
    if linux.intel_rdt().is_some() {
        return Err(SpecError::new("linux.intelRdt", "Intel RDT (resctrl) is not supported by this runtime"));
    }
    if linux.memory_policy().is_some() {
        return Err(SpecError::new("linux.memoryPolicy", "NUMA memory policies are not supported by this runtime"));
    }
    if linux.mount_label().as_ref().is_some_and(|s| !s.is_empty()) {
        return Err(SpecError::new("linux.mountLabel", "SELinux is not supported by this runtime"));
    }
    if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
        return Err(SpecError::new("linux.netDevices", "moving network devices into the container is not supported by this runtime"));
    }
    for (value, field) in [(spec.hostname(), "hostname"), (spec.domainname(), "domainname")] {
        if value.as_ref().is_some_and(|v| !v.is_empty()) && !kinds.contains(&NsKind::Uts) {
            return Err(SpecError::new(field, "needs a uts namespace of the container's own (add uts to linux.namespaces)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(j: serde_json::Value) -> Linux {
        serde_json::from_value(j).unwrap()
    }

    #[test]
    fn versions() {
        for ok in ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.2.1+dev", "1.0.0-rc.1"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        assert_eq!(check_version("invalid").unwrap_err().to_string(), "ociVersion: ERR_INVALID_SPEC: \"invalid\" is not a semantic version (MAJOR.MINOR.PATCH)");
        assert!(check_version("2.0.0").unwrap_err().to_string().contains("not a runtime-spec version"));
        assert!(check_version("1.3.0").unwrap_err().to_string().contains("newer than"));
        assert!(check_version("1.0").is_err() && check_version("").is_err() && check_version("01.0.0").is_err());
    }

    #[test]
    fn namespaces_by_path() {
        let l = linux(serde_json::json!({"namespaces": [{"type": "network", "path": "/proc/1/ns/net"}, {"type": "mount"}]}));
        let (kinds, join) = namespaces(&l).unwrap();
        assert_eq!(kinds, vec![NsKind::Mnt, NsKind::Net]);
        assert_eq!(join, vec![(NsKind::Net, PathBuf::from("/proc/1/ns/net"))]);
        let l = linux(serde_json::json!({"namespaces": [{"type": "network", "path": "net"}]}));
        assert!(namespaces(&l).unwrap_err().to_string().contains("is not absolute"));
        let l = linux(serde_json::json!({"namespaces": [{"type": "user", "path": "/proc/1/ns/user"}, {"type": "pid"}]}));
        assert!(namespaces(&l).unwrap_err().to_string().contains("a new pid namespace together with a user namespace"));
        let l = linux(serde_json::json!({"namespaces": [{"type": "user", "path": "/u"}], "uidMappings": [{"containerID": 0, "hostID": 0, "size": 1}]}));
        assert!(namespaces(&l).unwrap_err().to_string().starts_with("linux.uidMappings:"));
        let l = linux(serde_json::json!({"namespaces": [{"type": "ipc"}, {"type": "ipc"}]}));
        assert!(namespaces(&l).unwrap_err().to_string().contains("listed twice"));
    }

    #[test]
    fn only_namespaced_sysctls() {
        let l = linux(serde_json::json!({"sysctl": {"kernel.shmmax": "1000", "net.ipv4.ip_forward": "1", "fs.mqueue.msg_max": "20"}}));
        let s = sysctls(&l, &[NsKind::Ipc, NsKind::Net]).unwrap();
        assert_eq!(s[0], ("fs/mqueue/msg_max".into(), "20".into()));
        assert_eq!(s.len(), 3);
        let e = sysctls(&l, &[NsKind::Ipc]).unwrap_err().to_string();
        assert_eq!(e, "linux.sysctl.net.ipv4.ip_forward: ERR_INVALID_SPEC: needs a net namespace of the container's own (add it to linux.namespaces)");
        let l = linux(serde_json::json!({"sysctl": {"vm.swappiness": "1"}}));
        assert!(sysctls(&l, &[NsKind::Ipc]).unwrap_err().to_string().contains("is not a namespaced sysctl"));
        let l = linux(serde_json::json!({"sysctl": {"net..x": "1"}}));
        assert!(sysctls(&l, &[NsKind::Net]).unwrap_err().to_string().contains("is not a sysctl name"));
    }

    #[test]
    fn personality_propagation_and_refusals() {
        assert_eq!(personality(&linux(serde_json::json!({"personality": {"domain": "LINUX32"}}))).unwrap(), Some(8));
        assert!(personality(&linux(serde_json::json!({"personality": {"domain": "LINUX", "flags": ["x"]}}))).is_err());
        assert_eq!(root_propagation(&linux(serde_json::json!({"rootfsPropagation": "rslave"}))).unwrap(), Some(MsFlags::MS_SLAVE | MsFlags::MS_REC));
        assert!(root_propagation(&linux(serde_json::json!({"rootfsPropagation": "bogus"}))).unwrap_err().to_string().contains("\"bogus\" is not one of"));
        let spec: Spec = serde_json::from_value(serde_json::json!({"ociVersion": "1.0.0", "hostname": "h"})).unwrap();
        let e = refuse_unsupported(&spec, &linux(serde_json::json!({})), &[]).unwrap_err().to_string();
        assert_eq!(e, "hostname: ERR_INVALID_SPEC: needs a uts namespace of the container's own (add uts to linux.namespaces)");
        assert!(refuse_unsupported(&spec, &linux(serde_json::json!({})), &[NsKind::Uts]).is_ok());
        let none: Spec = serde_json::from_value(serde_json::json!({"ociVersion": "1.0.0"})).unwrap();
        let e = refuse_unsupported(&none, &linux(serde_json::json!({"mountLabel": "x"})), &[]).unwrap_err().to_string();
        assert!(e.starts_with("linux.mountLabel:"), "{e}");
        let e = refuse_unsupported(&none, &linux(serde_json::json!({"intelRdt": {"closID": "x"}})), &[]).unwrap_err().to_string();
        assert!(e.starts_with("linux.intelRdt:"), "{e}");
        let e = refuse_unsupported(&none, &linux(serde_json::json!({"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0"}})), &[]).unwrap_err().to_string();
        assert!(e.starts_with("linux.memoryPolicy: ERR_INVALID_SPEC: NUMA"), "{e}");
    }
}
