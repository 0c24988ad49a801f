//! The mounts every container gets, as OCI `mounts` entries.

use serde_json::{json, Value};

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
    m.push(json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                  "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}));
    if p.ipc_ns {
        m.push(json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                      "options": ["nosuid", "noexec", "nodev"]}));
    }
    m.push(json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}));
    if p.host_root {
        m.push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}));
        m.push(json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755"]}));
    }
    m
}
