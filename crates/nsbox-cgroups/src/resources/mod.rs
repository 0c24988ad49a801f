//! `linux.resources` (but devices, which devices/ puts in force): each field read into one
//! [`Setting`] (the controller, the cgroup v1 file and value, the cgroup v2 file and value), then
//! written into the container's cgroup of that controller: a v1 hierarchy's (v1.rs) or, where the
//! controller is on the unified hierarchy, the cgroup2 directory's (v2.rs). Fields that cannot be
//! written on this host are refused, naming the field; none is dropped.

use std::path::PathBuf;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;
use oci_spec::runtime::LinuxResources;

mod block_io;
mod update;
mod v1;
mod v2;

pub use update::update;

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// The field's value is refused before anything is written.
    #[error("{field}: ERR_INVALID_SPEC: {msg}")]
    Invalid { field: String, msg: String },
    /// The container has no cgroup of this controller to write the field into.
    #[error("{field}: ERR_RUNTIME: {msg}")]
    Unavailable { field: String, msg: String },
    #[error("write {field}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Write { field: String, path: String, errno: Errno },
}

impl ResourceError {
    pub fn to_wire(&self) -> WireError {
        match self {
            ResourceError::Invalid { field, msg } => WireError::invalid_spec(field.clone(), msg.clone()),
            ResourceError::Unavailable { field, msg } => WireError::runtime(field, None, msg),
            ResourceError::Write { field, path, errno } => {
                WireError::from_errno(&format!("write {field}"), Some(path.clone()), *errno, errno.desc())
            }
        }
    }
}

pub(crate) fn invalid(field: &str, msg: impl Into<String>) -> ResourceError {
    ResourceError::Invalid { field: field.into(), msg: msg.into() }
}

/// One field of `linux.resources`, as each cgroup version spells it (None: that version has no
/// such knob).
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub field: &'static str,
    pub controller: &'static str,
    pub v1: Option<(&'static str, String)>,
    pub v2: Option<(&'static str, String)>,
}

/// The writes `linux.resources` asks for, in the order they must be made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub settings: Vec<Setting>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }

    /// Whether a cpuset cgroup is needed (a new v1 one must first be given its parent's cpus and mems).
    pub fn needs(&self, controller: &str) -> bool {
        self.settings.iter().any(|s| s.controller == controller)
    }

    pub fn from_oci(r: &LinuxResources) -> Result<Resources, ResourceError> {
        let refuse = |field: &str, what: &str| invalid(field, format!("{what} limits are not supported by this runtime"));
        if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
            return Err(refuse("linux.resources.hugepageLimits", "hugetlb"));
        }
        if r.network().is_some() {
            return Err(invalid("linux.resources.network", "network class ids and priorities (net_cls, net_prio) are not supported by this runtime"));
        }
        if r.rdma().as_ref().is_some_and(|h| !h.is_empty()) {
            return Err(refuse("linux.resources.rdma", "RDMA"));
        }
        if r.unified().as_ref().is_some_and(|h| !h.is_empty()) {
            return Err(invalid("linux.resources.unified", "raw cgroup v2 files are not supported by this runtime"));
        }
        let mut s = Vec::new();
        let mut add = |field, controller, v1: Option<(&'static str, String)>, v2: Option<(&'static str, String)>| {
            s.push(Setting { field, controller, v1, v2 })
        };
        if let Some(p) = r.pids() {
            let v = if p.limit() <= 0 { "max".to_string() } else { p.limit().to_string() };
            add("linux.resources.pids.limit", "pids", Some(("pids.max", v.clone())), Some(("pids.max", v)));
        }
        if let Some(m) = r.memory() {
            memory(m, &mut add)?;
        }
        if let Some(c) = r.cpu() {
            cpu(c, &mut add)?;
        }
        if let Some(b) = r.block_io() {
            block_io::settings(b, &mut add)?;
        }
        Ok(Resources { settings: s })
    }
}

pub(crate) type Add<'a> = dyn FnMut(&'static str, &'static str, Option<(&'static str, String)>, Option<(&'static str, String)>) + 'a;

/// -1 (or absent) is "no limit": v1's -1, v2's max.
fn limit(v: i64) -> (String, String) {
    if v < 0 { ("-1".into(), "max".into()) } else { (v.to_string(), v.to_string()) }
}

fn memory(m: &oci_spec::runtime::LinuxMemory, add: &mut Add<'_>) -> Result<(), ResourceError> {
    let f = |n: &str| format!("linux.resources.memory.{n}");
    if m.use_hierarchy() == Some(false) {
        return Err(invalid(&f("useHierarchy"), "false is not supported (the kernel's memory cgroups are always hierarchical)"));
    }
    if let Some(l) = m.limit() {
        let (a, b) = limit(l);
        add("linux.resources.memory.limit", "memory", Some(("memory.limit_in_bytes", a)), Some(("memory.max", b)));
    }
    if let Some(r) = m.reservation() {
        let (a, b) = limit(r);
        add("linux.resources.memory.reservation", "memory", Some(("memory.soft_limit_in_bytes", a)), Some(("memory.low", b)));
    }
    if let Some(sw) = m.swap() {
        // OCI's swap is memory+swap (v1's memsw); v2 limits the swap alone.
        let v2 = match (sw, m.limit()) {
            (sw, _) if sw < 0 => "max".to_string(),
            (sw, Some(l)) if l >= 0 && sw >= l => (sw - l).to_string(),
            (_, Some(l)) if l >= 0 => return Err(invalid(&f("swap"), format!("{sw} is below the memory limit {l} (swap counts memory plus swap)"))),
            _ => return Err(invalid(&f("swap"), "needs a memory limit as well (swap counts memory plus swap)")),
        };
        add("linux.resources.memory.swap", "memory", Some(("memory.memsw.limit_in_bytes", limit(sw).0)), Some(("memory.swap.max", v2)));
    }
    if let Some(k) = m.kernel() {
        add("linux.resources.memory.kernel", "memory", Some(("memory.kmem.limit_in_bytes", limit(k).0)), None);
    }
    if let Some(k) = m.kernel_tcp() {
        add("linux.resources.memory.kernelTCP", "memory", Some(("memory.kmem.tcp.limit_in_bytes", limit(k).0)), None);
    }
    if let Some(sw) = m.swappiness() {
        if sw > 100 {
            return Err(invalid(&f("swappiness"), format!("{sw} is above 100")));
        }
        add("linux.resources.memory.swappiness", "memory", Some(("memory.swappiness", sw.to_string())), None);
    }
    // false is the kernel's default: nothing to write.
    if m.disable_oom_killer() == Some(true) {
        add("linux.resources.memory.disableOOMKiller", "memory", Some(("memory.oom_control", "1".into())), None);
    }
    Ok(())
}

fn cpu(c: &oci_spec::runtime::LinuxCpu, add: &mut Add<'_>) -> Result<(), ResourceError> {
    if let Some(sh) = c.shares().filter(|s| *s != 0) {
        if !(2..=262144).contains(&sh) {
            return Err(invalid("linux.resources.cpu.shares", format!("{sh} is outside 2..262144")));
        }
        // runc's conversion of shares to a cgroup2 weight.
        let weight = 1 + ((sh - 2) * 9999) / 262142;
        add("linux.resources.cpu.shares", "cpu", Some(("cpu.shares", sh.to_string())), Some(("cpu.weight", weight.to_string())));
    }
    let period = c.period().filter(|p| *p != 0);
    if let Some(p) = period {
        let v2 = format!("{} {p}", c.quota().filter(|q| *q > 0).map_or("max".to_string(), |q| q.to_string()));
        add("linux.resources.cpu.period", "cpu", Some(("cpu.cfs_period_us", p.to_string())), Some(("cpu.max", v2)));
    }
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        let v2 = format!("{} {}", if q > 0 { q.to_string() } else { "max".into() }, period.unwrap_or(100_000));
        add("linux.resources.cpu.quota", "cpu", Some(("cpu.cfs_quota_us", if q > 0 { q.to_string() } else { "-1".into() })), Some(("cpu.max", v2)));
    }
    if let Some(b) = c.burst() {
        add("linux.resources.cpu.burst", "cpu", Some(("cpu.cfs_burst_us", b.to_string())), Some(("cpu.max.burst", b.to_string())));
    }
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        add("linux.resources.cpu.realtimePeriod", "cpu", Some(("cpu.rt_period_us", p.to_string())), None);
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
        add("linux.resources.cpu.realtimeRuntime", "cpu", Some(("cpu.rt_runtime_us", r.to_string())), None);
    }
    if let Some(i) = c.idle() {
        add("linux.resources.cpu.idle", "cpu", Some(("cpu.idle", i.to_string())), Some(("cpu.idle", i.to_string())));
    }
    // Mems before cpus is not required; both before any process joins.
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        add("linux.resources.cpu.cpus", "cpuset", Some(("cpuset.cpus", cpus.to_string())), Some(("cpuset.cpus", cpus.to_string())));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        add("linux.resources.cpu.mems", "cpuset", Some(("cpuset.mems", mems.to_string())), Some(("cpuset.mems", mems.to_string())));
    }
    Ok(())
}

/// Writes every setting into the container's cgroups: `dirs[i]` is on the hierarchy whose
/// controllers are `kinds[i]` (as /proc/self/cgroup names them; empty for cgroup2).
pub fn apply(res: &Resources, dirs: &[PathBuf], kinds: &[String]) -> Result<(), ResourceError> {
    for s in &res.settings {
        let v1_dir = kinds.iter().position(|k| k.split(',').any(|c| c == s.controller)).map(|i| &dirs[i]);
        if let Some(dir) = v1_dir {
            let Some((file, value)) = &s.v1 else { return Err(unavailable(s, "cgroup v1 has no such setting")) };
            no_weight(s, dir, file)?;
            v1::write(s.field, dir, file, value)?;
            continue;
        }
        let v2_dir = kinds.iter().position(|k| k.is_empty()).map(|i| &dirs[i]);
        match v2_dir {
            Some(dir) if v2::has_controller(dir, v2_name(s.controller)) => {
                let Some((file, value)) = &s.v2 else { return Err(unavailable(s, "cgroup v2 has no such setting")) };
                no_weight(s, dir, file)?;
                v2::write(s.field, dir, file, value)?;
            }
            _ => {
                return Err(unavailable(
                    s,
                    &format!("the container has no cgroup of the {} controller to put it in (not root, a read-only cgroupfs, or the controller is not enabled for it)", s.controller),
                ))
            }
        }
    }
    Ok(())
}

/// The weight files exist only where BFQ is built in: their absence is said as such, not as the
/// EACCES or ENOENT a write would get.
fn no_weight(s: &Setting, dir: &std::path::Path, file: &str) -> Result<(), ResourceError> {
    if file.ends_with("bfq.weight") && !dir.join(file).exists() {
        return Err(unavailable(s, &format!("this kernel has no proportional I/O weight ({} is missing: the BFQ scheduler is not available)", dir.join(file).display())));
    }
    Ok(())
}

/// v1's blkio is v2's io.
fn v2_name(controller: &str) -> &str {
    if controller == "blkio" { "io" } else { controller }
}

fn unavailable(s: &Setting, why: &str) -> ResourceError {
    ResourceError::Unavailable { field: s.field.to_string(), msg: why.to_string() }
}

#[cfg(test)]
mod tests;
