//! What `events --stats` reports about a container's cgroups, and `kill --all`: the pids, memory
//! and cpu numbers that are readable in its v1 or v2 cgroups (a number the host does not offer is
//! left out, never made up), and a signal to every process in them.

use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<Pids>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
}

#[derive(Debug, Default, Serialize)]
pub struct Pids {
    pub current: u64,
    /// 0: no limit (runc's convention).
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Memory {
    pub usage: Usage,
}

#[derive(Debug, Default, Serialize)]
pub struct Usage {
    pub usage: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// 0: no limit.
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    /// Nanoseconds.
    pub total: u64,
    pub kernel: u64,
    pub user: u64,
}

fn num(dir: &Path, file: &str) -> Option<u64> {
    let t = std::fs::read_to_string(dir.join(file)).ok()?;
    let t = t.trim();
    if t == "max" { Some(0) } else { t.parse().ok() }
}

fn keyed(dir: &Path, file: &str, key: &str) -> Option<u64> {
    let t = std::fs::read_to_string(dir.join(file)).ok()?;
    t.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Reads what the container's cgroup directories hold, v2 files first, then v1's.
pub fn read(dirs: &[PathBuf]) -> Stats {
    let mut s = Stats::default();
    for d in dirs {
        if s.pids.is_none() {
            if let Some(current) = num(d, "pids.current") {
                s.pids = Some(Pids { current, limit: num(d, "pids.max").unwrap_or(0) });
            }
        }
        if s.memory.is_none() {
            if let Some(usage) = num(d, "memory.current") {
                s.memory = Some(Memory { usage: Usage { usage, max: num(d, "memory.peak"), limit: num(d, "memory.max").unwrap_or(0) } });
            } else if let Some(usage) = num(d, "memory.usage_in_bytes") {
                // v1 reports "no limit" as a huge number: shown as 0, as runc does for max.
                let limit = num(d, "memory.limit_in_bytes").filter(|l| *l < (1 << 62)).unwrap_or(0);
                s.memory = Some(Memory { usage: Usage { usage, max: num(d, "memory.max_usage_in_bytes"), limit } });
            }
        }
        if s.cpu.is_none() {
            if let Some(us) = keyed(d, "cpu.stat", "usage_usec") {
                let (user, kernel) = (keyed(d, "cpu.stat", "user_usec").unwrap_or(0), keyed(d, "cpu.stat", "system_usec").unwrap_or(0));
                s.cpu = Some(Cpu { usage: CpuUsage { total: us * 1000, user: user * 1000, kernel: kernel * 1000 } });
            } else if let Some(total) = num(d, "cpuacct.usage") {
                let (user, kernel) = (num(d, "cpuacct.usage_user").unwrap_or(0), num(d, "cpuacct.usage_sys").unwrap_or(0));
                s.cpu = Some(Cpu { usage: CpuUsage { total, user, kernel } });
            }
        }
    }
    s
}

/// Every pid in the container's cgroups (the union over its hierarchies).
pub fn pids(dirs: &[PathBuf]) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::new();
    for d in dirs {
        let t = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        out.extend(t.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `kill --all`: `sig` to every process in the cgroups; how many took it.
pub fn signal_all(dirs: &[PathBuf], sig: Option<Signal>) -> usize {
    pids(dirs).into_iter().filter(|p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(*p), sig).is_ok()).count()
}
