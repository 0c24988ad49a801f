//! The process settings of the config the child applies to itself before exec (all of them survive
//! execve): rlimits, oom_score_adj, personality, I/O priority, scheduler, CPU affinity.

use nix::errno::Errno;
use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

use super::{ProcessError, Result};
use crate::spec::ProcessPlan;
use crate::syscalls;

fn fail(op: &'static str, path: impl Into<String>, errno: Errno, msg: impl Into<String>) -> ProcessError {
    ProcessError::Sys { op, path: path.into(), errno, msg: msg.into() }
}

/// Only the host's CAP_SYS_RESOURCE lets a limit go above the current hard limit (a user
/// namespace's does not).
pub fn rlimits(p: &ProcessPlan) -> Result<()> {
    for r in &p.rlimits {
        let new = libc::rlimit { rlim_cur: r.soft, rlim_max: r.hard };
        // SAFETY: a valid resource number (from the plan's table) and a valid struct.
        if unsafe { libc::setrlimit(r.resource as libc::__rlimit_resource_t, &new) } == 0 {
            continue;
        }
        let errno = Errno::last();
        let mut old = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: as above; on failure `old` stays zeroed, only used in the message.
        unsafe { libc::getrlimit(r.resource as libc::__rlimit_resource_t, &mut old) };
        let msg = match errno {
            Errno::EPERM => format!(
                "{}: raising the hard limit to {} (soft {}) above the current hard limit {} needs CAP_SYS_RESOURCE, which the runtime does not hold",
                r.name, r.hard, r.soft, old.rlim_max
            ),
            _ => format!("{} soft {} hard {}: {}", r.name, r.soft, r.hard, errno.desc()),
        };
        return Err(fail("setrlimit", r.name.clone(), errno, msg));
    }
    Ok(())
}

/// Written while the host's /proc is still in reach (before the rootfs is entered).
pub fn oom_score_adj(p: &ProcessPlan) -> Result<()> {
    let Some(adj) = p.oom_score_adj else { return Ok(()) };
    let path = "/proc/self/oom_score_adj";
    let current = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<i32>().ok());
    std::fs::write(path, adj.to_string()).map_err(|e| {
        let errno = crate::error::errno_of(&e);
        let msg = match (errno, current) {
            (Errno::EACCES | Errno::EPERM, Some(cur)) if adj < cur => {
                format!("lowering oom_score_adj from {cur} to {adj} needs CAP_SYS_RESOURCE, which the runtime does not hold")
            }
            _ => format!("oom_score_adj {adj}: {}", errno.desc()),
        };
        fail("write oom_score_adj", path, errno, msg)
    })
}

/// Right before exec: personality, I/O priority, scheduler and the final CPU affinity.
pub fn before_exec(p: &ProcessPlan, personality: Option<u64>) -> Result<()> {
    if let Some(persona) = personality {
        // SAFETY: plain integer argument.
        let r = unsafe { libc::personality(persona as libc::c_ulong) };
        Errno::result(r).map_err(|e| fail("personality", format!("{persona:#x}"), e, e.desc()))?;
    }
    if let Some(v) = p.io_priority {
        syscalls::ioprio_set(v).map_err(|e| {
            let msg = match e {
                Errno::EPERM => "the realtime I/O class needs CAP_SYS_ADMIN (or CAP_SYS_NICE)".to_string(),
                _ => e.desc().to_string(),
            };
            fail("ioprio_set", format!("class {} level {}", v >> 13, v & 7), e, msg)
        })?;
    }
    if let Some(s) = &p.scheduler {
        let mut attr = syscalls::SchedAttr {
            sched_policy: s.policy,
            sched_flags: s.flags,
            sched_nice: s.nice,
            sched_priority: s.priority,
            sched_runtime: s.runtime,
            sched_deadline: s.deadline,
            sched_period: s.period,
            ..Default::default()
        };
        syscalls::sched_setattr(&mut attr).map_err(|e| {
            let msg = match e {
                Errno::EPERM => "a realtime policy or a negative nice value needs CAP_SYS_NICE".to_string(),
                _ => e.desc().to_string(),
            };
            fail("sched_setattr", format!("policy {}", s.policy), e, msg)
        })?;
    }
    if let Some(cpus) = &p.cpu_affinity_final {
        affinity(cpus, "process.execCPUAffinity.final")?;
    }
    Ok(())
}

pub fn affinity(cpus: &[usize], field: &'static str) -> Result<()> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c).map_err(|e| fail("sched_setaffinity", field, e, format!("CPU {c}: {}", e.desc())))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| fail("sched_setaffinity", field, e, format!("CPUs {cpus:?}: {}", e.desc())))
}
