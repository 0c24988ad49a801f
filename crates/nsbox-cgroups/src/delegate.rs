//! cgroup v2 controllers for the container's cgroup: a v2 cgroup gets a controller only when its
//! parent lists it in `cgroup.subtree_control`, and the parent may enable only those its own
//! `cgroup.controllers` lists (what was delegated to it). When the runtime's own cgroup is
//! writable (root, or rootless in a delegated subtree such as a systemd user slice), the
//! controllers the limits need are enabled there; one that was not delegated is refused by name.

use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::CgroupError;

/// cgroup v2's name for a controller the limits need (resources/ names them as v1 does).
fn v2_name(controller: &str) -> Option<&str> {
    match controller {
        "blkio" => Some("io"),
        "cpuacct" => Some("cpu"),
        // v2 freezes with cgroup.freeze and filters devices with BPF: no controller to enable.
        "devices" | "freezer" => None,
        c => Some(c),
    }
}

/// The controllers of `needs` that must come from cgroup2: those no mounted v1 hierarchy holds
/// (on a hybrid host each controller is used where it is mounted).
pub(crate) fn v2_needs(needs: &[&str], hierarchies: &[(String, PathBuf)]) -> Vec<String> {
    let on_v1 = |c: &str| hierarchies.iter().any(|(k, _)| k.split(',').any(|x| x == c));
    let mut out: Vec<String> = Vec::new();
    for c in needs.iter().filter(|c| !on_v1(c)) {
        if let Some(n) = v2_name(c).filter(|n| !out.iter().any(|o| o == n)) {
            out.push(n.to_string());
        }
    }
    out
}

fn words(path: &Path) -> Result<Vec<String>, CgroupError> {
    let text = std::fs::read_to_string(path).map_err(|e| CgroupError::io("read", path, &e))?;
    Ok(text.split_whitespace().map(str::to_string).collect())
}

/// Enables each of `controllers` for the cgroup2 directory `dir` (not made yet) in its parent's
/// `cgroup.subtree_control`; one the parent was not given, or cannot enable, is refused by name.
pub(crate) fn delegate(dir: &Path, controllers: &[String]) -> Result<(), CgroupError> {
    if controllers.is_empty() {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("/"));
    let available = words(&parent.join("cgroup.controllers"))?;
    let control = parent.join("cgroup.subtree_control");
    let enabled = words(&control)?;
    for c in controllers.iter().filter(|c| !enabled.contains(c)) {
        let refuse = |why: String| CgroupError::NotDelegated { controller: c.clone(), path: parent.display().to_string(), why };
        if !available.contains(c) {
            let has = if available.is_empty() { "none".to_string() } else { available.join(" ") };
            return Err(refuse(format!(
                "it is not in {}/cgroup.controllers (has: {has}): the {c} controller was not delegated to this cgroup",
                parent.display()
            )));
        }
        if let Err(e) = std::fs::write(&control, format!("+{c}")) {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            return Err(refuse(match errno {
                Errno::EBUSY => format!(
                    "EBUSY writing +{c} to {}: the cgroup has processes of its own, and cgroup v2 enables controllers only below cgroups without (start nsbox from a leaf cgroup whose parent has {c} enabled)",
                    control.display()
                ),
                _ => format!("{} writing +{c} to {}: {}", nsbox_core::error::errno_name(errno), control.display(), errno.desc()),
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str, controllers: &str, enabled: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nsbox-delegate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cgroup.controllers"), controllers).unwrap();
        std::fs::write(d.join("cgroup.subtree_control"), enabled).unwrap();
        d
    }

    #[test]
    fn only_what_no_v1_hierarchy_holds() {
        let hybrid = vec![("memory".to_string(), PathBuf::from("/m")), ("blkio".to_string(), PathBuf::from("/b")), (String::new(), PathBuf::from("/u"))];
        assert_eq!(v2_needs(&["memory", "pids", "blkio", "cpu", "devices"], &hybrid), ["pids", "cpu"]);
        let pure = vec![(String::new(), PathBuf::from("/sys/fs/cgroup"))];
        assert_eq!(v2_needs(&["memory", "blkio", "pids", "memory"], &pure), ["memory", "io", "pids"]);
    }

    /// A delegated cgroup2 directory (a systemd user slice's shape): what it was given is enabled
    /// in its cgroup.subtree_control, what it was not is refused by name.
    #[test]
    fn enables_what_was_delegated_and_refuses_the_rest() {
        let d = tree("ok", "cpu memory pids\n", "cpu\n");
        delegate(&d.join("nsbox-x"), &["cpu".into(), "pids".into()]).unwrap();
        // cpu was enabled already; the one write is pids' (a real cgroupfs would merge it in).
        assert_eq!(std::fs::read_to_string(d.join("cgroup.subtree_control")).unwrap(), "+pids");
        let e = delegate(&d.join("nsbox-x"), &["io".into()]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("io") && text.contains("not delegated") && text.contains("has: cpu memory pids"), "{text}");
        assert_eq!(e.to_wire().code, "ERR_RUNTIME");
        std::fs::remove_dir_all(&d).unwrap();
        let empty = tree("none", "", "");
        let text = delegate(&empty.join("nsbox-x"), &["memory".into()]).unwrap_err().to_string();
        assert!(text.contains("memory") && text.contains("has: none"), "{text}");
        delegate(&empty.join("nsbox-x"), &[]).unwrap();
        std::fs::remove_dir_all(&empty).unwrap();
    }
}
