//! Where the cgroup hierarchies are mounted. Hybrid layouts (v1 controllers plus a cgroup2 mount)
//! and pure v2 are both handled: each is keyed the way /proc/self/cgroup names it.

use std::path::PathBuf;

const NOT_CONTROLLERS: [&str; 10] = [
    "rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods", "memory_localevents",
    "memory_recursiveprot", "nsdelegate",
];

/// Hierarchy mount points from /proc/self/mountinfo, keyed the way /proc/self/cgroup names them.
pub fn hierarchies() -> Vec<(String, PathBuf)> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return vec![] };
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mut r = right.split_whitespace();
        let fstype = r.next().unwrap_or("");
        let super_opts = r.nth(1).unwrap_or("");
        let mount_point = left.split_whitespace().nth(4).unwrap_or("");
        let mount_root = left.split_whitespace().nth(3).unwrap_or("");
        if mount_root != "/" {
            continue;
        }
        match fstype {
            "cgroup2" => out.push((String::new(), PathBuf::from(mount_point))),
            "cgroup" => {
                let ctrls: Vec<&str> = super_opts
                    .split(',')
                    .filter(|o| o.starts_with("name=") || !(o.contains('=') || NOT_CONTROLLERS.contains(o)))
                    .collect();
                out.push((ctrls.join(","), PathBuf::from(mount_point)));
            }
            _ => {}
        }
    }
    out
}

/// The controllers of the hierarchy each of `dirs` lies in, as /proc/self/cgroup names them (empty
/// for cgroup2): what resources/ needs to know where a setting goes, for a container whose cgroups
/// were recorded as paths only.
pub fn kinds_of(dirs: &[PathBuf]) -> Vec<String> {
    let all = hierarchies();
    dirs.iter()
        .map(|d| {
            all.iter()
                .filter(|(_, m)| d.starts_with(m))
                .max_by_key(|(_, m)| m.as_os_str().len())
                .map(|(k, _)| k.clone())
                .unwrap_or_default()
        })
        .collect()
}
