//! How many processes of a cgroup the OOM killer has killed: v1's `oom_kill` line in
//! `memory.oom_control`, v2's in `memory.events` (both Linux ≥ 4.13). Read by the monitor before
//! it removes the cgroups, so `inspect` can say OOMKilled.

use std::path::{Path, PathBuf};

fn field(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
}

/// OOM kills in the container's memory cgroup (`dirs`, `kinds` as placement records them);
/// 0 when it has none.
pub fn oom_kills(dirs: &[PathBuf], kinds: &[String]) -> u64 {
    let mut n = 0;
    for (dir, kind) in dirs.iter().zip(kinds) {
        if kind.split(',').any(|c| c == "memory") {
            n += field(&dir.join("memory.oom_control"), "oom_kill ").unwrap_or(0);
        } else if kind.is_empty() {
            n += field(&dir.join("memory.events"), "oom_kill ").unwrap_or(0);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_counters() {
        let d = std::env::temp_dir().join(format!("nsbox-oom-test-{}", std::process::id()));
        let (a, b) = (d.join("v1"), d.join("v2"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n").unwrap();
        std::fs::write(b.join("memory.events"), "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n").unwrap();
        assert_eq!(oom_kills(&[a.clone()], &["memory".into()]), 2);
        assert_eq!(oom_kills(&[b.clone()], &[String::new()]), 1);
        assert_eq!(oom_kills(&[a, b], &["pids".into(), "name=systemd".into()]), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
