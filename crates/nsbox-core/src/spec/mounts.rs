//! The mounts every container gets, as OCI `mounts` entries.

use serde_json::{json, Value};

use crate::resources::{TmpfsMount, HOST_VIEW_RUN, HOST_VIEW_TMP};

/// Docker's masked paths: hidden behind /dev/null (files) or an empty read-only tmpfs (directories).
pub const MASKED: [&str; 11] = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths.
pub const READONLY: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

pub struct MountPlan {
    pub host_root: bool,
    pub ipc_ns: bool,
    /// devpts' `gid=5` only works when gid 5 is mapped into the container.
    pub tty_gid_mapped: bool,
    /// `--shm-size` in bytes; None: docker's 64 MiB.
    pub shm_size: Option<i64>,
}

pub fn defaults(p: &MountPlan) -> Vec<Value> {
    let mut m = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
    ];
    let mut pts = vec!["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"];
    if p.tty_gid_mapped {
        pts.push("gid=5");
    }
    m.push(json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": pts}));
    let shm = p.shm_size.map_or_else(|| "size=65536k".to_string(), |n| format!("size={n}"));
    m.push(json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                  "options": ["nosuid", "noexec", "nodev", "mode=1777", shm]}));
    if p.ipc_ns {
        m.push(json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                      "options": ["nosuid", "noexec", "nodev"]}));
    }
    m.push(json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}));
    if p.host_root {
        // Bounded: see nsbox-core's resources/mounts.rs.
        m.push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", HOST_VIEW_TMP]}));
        m.push(json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755", HOST_VIEW_RUN]}));
    }
    m
}

/// `--tmpfs` mounts: one at a default mount's destination replaces it (`--tmpfs /tmp:size=1g` in the
/// host view), the others are added after the defaults.
pub fn add_tmpfs(mounts: &mut Vec<Value>, tmpfs: &[TmpfsMount]) {
    for t in tmpfs {
        let m = json!({"destination": t.destination, "type": "tmpfs", "source": "tmpfs", "options": t.options});
        match mounts.iter_mut().find(|x| x["destination"] == t.destination.as_str()) {
            Some(old) => *old = m,
            None => mounts.push(m),
        }
    }
}
