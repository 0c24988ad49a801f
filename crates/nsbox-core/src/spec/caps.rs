//! Capability names: docker's default set, and `--cap-add`/`--cap-drop` on top of it.

use crate::WireError;

/// Every capability up to CAP_CHECKPOINT_RESTORE (40), in kernel number order.
pub const ALL: [&str; 41] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set.
pub const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name CAP_NET_ADMIN.
pub fn normalize(field: &str, name: &str) -> Result<String, WireError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") };
    if ALL.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(WireError::invalid_spec(field, format!("unknown capability {name:?}")))
    }
}

/// The resulting set, in kernel order: docker's default, or all when privileged, then add, then drop.
pub fn resolve(privileged: bool, add: &[String], drop: &[String]) -> Result<Vec<String>, WireError> {
    let add: Vec<String> = add.iter().map(|c| normalize("capAdd", c)).collect::<Result<_, _>>()?;
    let drop: Vec<String> = drop.iter().map(|c| normalize("capDrop", c)).collect::<Result<_, _>>()?;
    let all = privileged || add.iter().any(|c| c == "ALL");
    let set = ALL
        .iter()
        .filter(|c| all || DOCKER_DEFAULT.contains(c) || add.iter().any(|a| a == *c))
        .filter(|c| !drop.iter().any(|d| d == "ALL" || d == *c))
        .map(|c| c.to_string())
        .collect();
    Ok(set)
}

/// The runtime refuses a capability it cannot grant (a host that withholds CAP_SYS_RESOURCE, say),
/// so the set the builder asks for is trimmed to what the caller holds: quietly for docker's
/// defaults and `--privileged`, which mean "what this host allows", but an explicit `--cap-add`
/// of one the caller lacks is an error naming it. Inside a user namespace of the container's own
/// every capability is held, so nothing is trimmed there (`held` None).
pub fn grantable(set: Vec<String>, add: &[String], held: Option<u64>) -> Result<Vec<String>, WireError> {
    let Some(held) = held else { return Ok(set) };
    let has = |c: &str| ALL.iter().position(|a| *a == c).is_some_and(|n| held & (1u64 << n) != 0);
    for a in add {
        let a = normalize("capAdd", a)?;
        if a != "ALL" && !has(&a) {
            return Err(WireError::invalid_spec("capAdd", format!("{a} cannot be granted: this process does not hold it (not in its bounding set)")));
        }
    }
    Ok(set.into_iter().filter(|c| has(c)).collect())
}

/// Capabilities with which container root can make the read-only host view writable: remount it,
/// or mount over or move parts of it (all of them need CAP_SYS_ADMIN in the mount's user namespace,
/// and the view's read-only flag is set inside the container's own mount namespace, so it is not
/// locked against its root). The other capabilities that defeat isolation on any root (SYS_MODULE,
/// SYS_RAWIO, DAC_READ_SEARCH, SYS_PTRACE, ...) are allowed as docker allows them; docs/security.md
/// lists them and what each gives away.
pub const REMOUNT_HOST_VIEW: [&str; 1] = ["CAP_SYS_ADMIN"];

/// Refuses, for a root caller without `--privileged`, a capability that would let the container
/// write the host's files through the host view. An unprivileged caller's container can only write
/// what that user could write anyway, so it is not refused there.
pub fn guard_host_view(caps: &[String], host_view: bool, privileged: bool, caller_is_root: bool) -> Result<(), WireError> {
    if !host_view || privileged || !caller_is_root {
        return Ok(());
    }
    match caps.iter().find(|c| REMOUNT_HOST_VIEW.contains(&c.as_str())) {
        Some(cap) => Err(WireError::invalid_spec(
            "capAdd",
            format!("{cap} would let the container remount the read-only host view writable: give it a root of its own (--rootfs) or use --privileged"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_add_drop() {
        let s = resolve(false, &["net_admin".into()], &["CAP_CHOWN".into()]).unwrap();
        assert!(s.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!s.contains(&"CAP_CHOWN".to_string()));
        assert_eq!(s.len(), 14);
        assert_eq!(resolve(true, &[], &[]).unwrap().len(), 41);
        assert!(resolve(false, &[], &["all".into()]).unwrap().is_empty());
        assert_eq!(resolve(false, &["bogus".into()], &[]).unwrap_err().op, "capAdd");
    }

    #[test]
    fn only_what_the_caller_holds() {
        let all = resolve(true, &[], &[]).unwrap();
        let no_sys_resource = !(1u64 << 24) & ((1u64 << 41) - 1);
        let got = grantable(all.clone(), &[], Some(no_sys_resource)).unwrap();
        assert_eq!(got.len(), 40);
        assert!(!got.contains(&"CAP_SYS_RESOURCE".to_string()));
        assert_eq!(grantable(all.clone(), &[], None).unwrap().len(), 41);
        let e = grantable(all, &["sys_resource".into()], Some(no_sys_resource)).unwrap_err();
        assert_eq!((e.op.as_str(), e.message.as_str()), ("capAdd", "CAP_SYS_RESOURCE cannot be granted: this process does not hold it (not in its bounding set)"));
        assert_eq!(grantable(resolve(false, &[], &[]).unwrap(), &[], Some(no_sys_resource)).unwrap().len(), 14);
    }

    #[test]
    fn sys_admin_on_the_host_view_needs_privileged_or_a_root_of_its_own() {
        let caps = resolve(false, &["SYS_ADMIN".into()], &[]).unwrap();
        let e = guard_host_view(&caps, true, false, true).unwrap_err();
        assert_eq!((e.code.as_str(), e.op.as_str()), ("ERR_INVALID_SPEC", "capAdd"));
        assert!(e.message.starts_with("CAP_SYS_ADMIN would let the container remount"), "{}", e.message);
        assert!(guard_host_view(&caps, false, false, true).is_ok(), "own rootfs");
        assert!(guard_host_view(&caps, true, true, true).is_ok(), "--privileged");
        assert!(guard_host_view(&caps, true, false, false).is_ok(), "rootless: the user's own rights only");
        assert!(guard_host_view(&resolve(false, &[], &[]).unwrap(), true, false, true).is_ok(), "docker's defaults");
    }
}
