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
}
