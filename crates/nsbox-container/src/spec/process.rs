//! `process`: the command, its identity, and the settings the child applies before exec
//! (rlimits, oom_score_adj, umask, I/O priority, scheduler, CPU affinity, console size). What this
//! runtime cannot do (AppArmor, SELinux, user names) is refused, naming the field. The same reader
//! serves `exec --process FILE` (the same schema).

use oci_spec::runtime::{IOPriorityClass, LinuxSchedulerFlag, LinuxSchedulerPolicy, PosixRlimitType, Process};

use super::plan::{Result, SpecError};

#[derive(Debug, Clone, PartialEq)]
pub struct Rlimit {
    /// `RLIMIT_NOFILE`, for errors.
    pub name: String,
    pub resource: i32,
    pub soft: u64,
    pub hard: u64,
}

/// sched_setattr's arguments (struct sched_attr's fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchedPlan {
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// `CAP_*` names; empty bounding means "drop everything".
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
    pub ambient: Vec<String>,
    pub no_new_privileges: bool,
    pub terminal: bool,
    pub rlimits: Vec<Rlimit>,
    pub oom_score_adj: Option<i32>,
    pub umask: Option<u32>,
    /// ioprio_set's value: class << 13 | level.
    pub io_priority: Option<u32>,
    pub scheduler: Option<SchedPlan>,
    /// CPU lists: before the container joins its cgroup, and right before exec.
    pub cpu_affinity_initial: Option<Vec<usize>>,
    pub cpu_affinity_final: Option<Vec<usize>>,
    /// (rows, columns) of the pty.
    pub console_size: Option<(u16, u16)>,
}

/// The capability sets of the process, every name in them (for checks against what the runtime holds).
impl ProcessPlan {
    pub fn all_caps(&self) -> impl Iterator<Item = &String> {
        self.bounding.iter().chain(&self.effective).chain(&self.permitted).chain(&self.inheritable).chain(&self.ambient)
    }
}

/// Reads one process object (the config's, or exec's `--process` file).
pub fn process_plan(p: &Process) -> Result<ProcessPlan> {
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        return Err(SpecError::new("process.args", "at least one argument (the command) is required"));
    }
    if p.command_line().is_some() {
        return Err(SpecError::new("process.commandLine", "is for Windows; use process.args"));
    }
    if p.apparmor_profile().as_ref().is_some_and(|s| !s.is_empty()) {
        return Err(SpecError::new("process.apparmorProfile", "AppArmor is not supported by this runtime"));
    }
    if p.selinux_label().as_ref().is_some_and(|s| !s.is_empty()) {
        return Err(SpecError::new("process.selinuxLabel", "SELinux is not supported by this runtime"));
    }
    if p.user().username().as_ref().is_some_and(|s| !s.is_empty()) {
        return Err(SpecError::new("process.user.username", "user names are not resolved by this runtime; give uid and gid"));
    }
    let names = |s: Option<&std::collections::HashSet<oci_spec::runtime::Capability>>| -> Vec<String> {
        let mut v: Vec<String> = s.into_iter().flatten().map(|c| format!("CAP_{c}")).collect();
        v.sort();
        v
    };
    let caps = p.capabilities().clone().unwrap_or_default();
    let mut rlimits: Vec<Rlimit> = Vec::new();
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        let (name, resource) = rlimit_of(r.typ());
        if r.soft() > r.hard() {
            return Err(SpecError::new(format!("process.rlimits[{i}]"), format!("{name}: soft limit {} is above the hard limit {}", r.soft(), r.hard())));
        }
        if rlimits.iter().any(|x| x.resource == resource) {
            return Err(SpecError::new(format!("process.rlimits[{i}]"), format!("{name} is given twice")));
        }
        rlimits.push(Rlimit { name: name.into(), resource, soft: r.soft(), hard: r.hard() });
    }
    if let Some(adj) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(SpecError::new("process.oomScoreAdj", format!("{adj} is outside -1000..1000")));
        }
    }
    let umask = p.user().umask();
    if let Some(m) = umask {
        if m > 0o777 {
            return Err(SpecError::new("process.user.umask", format!("{m:#o} is not a file mode mask (0..0777)")));
        }
    }
    let io_priority = p.io_priority().as_ref().map(|io| {
        let class = match io.class() {
            IOPriorityClass::IoprioClassRt => 1u32,
            IOPriorityClass::IoprioClassBe => 2,
            IOPriorityClass::IoprioClassIdle => 3,
        };
        match io.priority() {
            n @ 0..=7 => Ok(class << 13 | n as u32),
            n => Err(SpecError::new("process.ioPriority.priority", format!("{n} is outside 0..7"))),
        }
    });
    let (initial, fin) = match p.exec_cpu_affinity() {
        Some(a) => (
            a.initial().as_deref().map(|s| cpu_list("process.execCPUAffinity.initial", s)).transpose()?,
            a.cpu_affinity_final().as_deref().map(|s| cpu_list("process.execCPUAffinity.final", s)).transpose()?,
        ),
        None => (None, None),
    };
    let console_size = match p.console_size() {
        Some(b) if !p.terminal().unwrap_or(false) => {
            return Err(SpecError::new("process.consoleSize", format!("{}x{} given, but process.terminal is false", b.width(), b.height())))
        }
        Some(b) => {
            let dim = |v: u64, what: &str| u16::try_from(v).map_err(|_| SpecError::new("process.consoleSize", format!("{what} {v} is too large")));
            Some((dim(b.height(), "height")?, dim(b.width(), "width")?))
        }
        None => None,
    };
    Ok(ProcessPlan {
        args,
        env: p.env().clone().unwrap_or_default(),
        cwd: p.cwd().to_string_lossy().into_owned(),
        uid: p.user().uid(),
        gid: p.user().gid(),
        additional_gids: p.user().additional_gids().clone().unwrap_or_default(),
        bounding: names(caps.bounding().as_ref()),
        effective: names(caps.effective().as_ref()),
        permitted: names(caps.permitted().as_ref()),
        inheritable: names(caps.inheritable().as_ref()),
        ambient: names(caps.ambient().as_ref()),
        no_new_privileges: p.no_new_privileges().unwrap_or(false),
        terminal: p.terminal().unwrap_or(false),
        rlimits,
        oom_score_adj: p.oom_score_adj(),
        umask,
        io_priority: io_priority.transpose()?,
        scheduler: p.scheduler().as_ref().map(sched_plan).transpose()?,
        cpu_affinity_initial: initial,
        cpu_affinity_final: fin,
        console_size,
    })
}

fn rlimit_of(t: PosixRlimitType) -> (&'static str, i32) {
    use PosixRlimitType::*;
    let r = |n: &'static str, v: libc::__rlimit_resource_t| (n, v as i32);
    match t {
        RlimitCpu => r("RLIMIT_CPU", libc::RLIMIT_CPU),
        RlimitFsize => r("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
        RlimitData => r("RLIMIT_DATA", libc::RLIMIT_DATA),
        RlimitStack => r("RLIMIT_STACK", libc::RLIMIT_STACK),
        RlimitCore => r("RLIMIT_CORE", libc::RLIMIT_CORE),
        RlimitRss => r("RLIMIT_RSS", libc::RLIMIT_RSS),
        RlimitNproc => r("RLIMIT_NPROC", libc::RLIMIT_NPROC),
        RlimitNofile => r("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
        RlimitMemlock => r("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
        RlimitAs => r("RLIMIT_AS", libc::RLIMIT_AS),
        RlimitLocks => r("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
        RlimitSigpending => r("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
        RlimitMsgqueue => r("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
        RlimitNice => r("RLIMIT_NICE", libc::RLIMIT_NICE),
        RlimitRtprio => r("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
        RlimitRttime => r("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
    }
}

fn sched_plan(s: &oci_spec::runtime::Scheduler) -> Result<SchedPlan> {
    let field = "process.scheduler";
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => libc::SCHED_OTHER,
        LinuxSchedulerPolicy::SchedFifo => libc::SCHED_FIFO,
        LinuxSchedulerPolicy::SchedRr => libc::SCHED_RR,
        LinuxSchedulerPolicy::SchedBatch => libc::SCHED_BATCH,
        LinuxSchedulerPolicy::SchedIdle => libc::SCHED_IDLE,
        LinuxSchedulerPolicy::SchedDeadline => 6,
        LinuxSchedulerPolicy::SchedIso => return Err(SpecError::new(format!("{field}.policy"), "SCHED_ISO does not exist in Linux")),
    } as u32;
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            // Clamping needs values the spec does not carry.
            LinuxSchedulerFlag::SchedFlagUtilClampMin | LinuxSchedulerFlag::SchedFlagUtilClampMax => {
                return Err(SpecError::new(format!("{field}.flags"), format!("{f:?} is not supported (the spec carries no clamp values)")))
            }
        };
    }
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(SpecError::new(format!("{field}.nice"), format!("{nice} is outside -20..19")));
    }
    let priority = s.priority().unwrap_or(0);
    let realtime = policy == libc::SCHED_FIFO as u32 || policy == libc::SCHED_RR as u32;
    if realtime != (1..=99).contains(&priority) {
        let want = if realtime { "1..99 for SCHED_FIFO and SCHED_RR" } else { "0 for this policy" };
        return Err(SpecError::new(format!("{field}.priority"), format!("{priority} must be {want}")));
    }
    let (runtime, deadline, period) = (s.runtime().unwrap_or(0), s.deadline().unwrap_or(0), s.period().unwrap_or(0));
    if policy != 6 && (runtime, deadline, period) != (0, 0, 0) {
        return Err(SpecError::new(field, "runtime, deadline and period are for SCHED_DEADLINE only"));
    }
    Ok(SchedPlan { policy, flags, nice, priority: priority as u32, runtime, deadline, period })
}

/// `0-3,7`: the CPU numbers, as the kernel's cpuset lists name them.
pub fn cpu_list(field: &str, s: &str) -> Result<Vec<usize>> {
    let bad = || SpecError::new(field, format!("{s:?} is not a CPU list such as 0-3,7"));
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
        if a > b || b >= 1024 {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::Spec;

    fn plan(process: serde_json::Value) -> Result<ProcessPlan> {
        let spec: Spec = serde_json::from_value(serde_json::json!({"ociVersion": "1.0.2", "process": process})).unwrap();
        process_plan(spec.process().as_ref().unwrap())
    }

    fn base() -> serde_json::Value {
        serde_json::json!({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}})
    }

    fn with(k: &str, v: serde_json::Value) -> serde_json::Value {
        let mut b = base();
        b[k] = v;
        b
    }

    fn err(p: serde_json::Value) -> String {
        plan(p).unwrap_err().to_string()
    }

    #[test]
    fn args_are_required() {
        assert_eq!(err(serde_json::json!({"cwd": "/", "user": {"uid": 0, "gid": 0}})), "process.args: ERR_INVALID_SPEC: at least one argument (the command) is required");
    }

    #[test]
    fn rlimits() {
        let p = plan(with("rlimits", serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]))).unwrap();
        assert_eq!(p.rlimits, vec![Rlimit { name: "RLIMIT_NOFILE".into(), resource: libc::RLIMIT_NOFILE as i32, soft: 10, hard: 20 }]);
        assert!(err(with("rlimits", serde_json::json!([{"type": "RLIMIT_CORE", "soft": 30, "hard": 20}]))).contains("RLIMIT_CORE: soft limit 30 is above the hard limit 20"));
        let dup = serde_json::json!([{"type": "RLIMIT_CORE", "soft": 1, "hard": 2}, {"type": "RLIMIT_CORE", "soft": 1, "hard": 2}]);
        assert!(err(with("rlimits", dup)).contains("given twice"));
        // Unknown types do not parse at all: the config is refused when it is read.
        let bad = serde_json::json!({"ociVersion": "1.0.2", "process": with("rlimits", serde_json::json!([{"type": "RLIMIT_FOO", "soft": 1, "hard": 2}]))});
        assert!(serde_json::from_value::<Spec>(bad).is_err());
    }

    #[test]
    fn oom_umask_io_priority_scheduler() {
        assert_eq!(plan(with("oomScoreAdj", serde_json::json!(-500))).unwrap().oom_score_adj, Some(-500));
        assert!(err(with("oomScoreAdj", serde_json::json!(1001))).contains("outside -1000..1000"));
        let mut b = base();
        b["user"]["umask"] = serde_json::json!(0o27);
        assert_eq!(plan(b).unwrap().umask, Some(0o27));
        let p = plan(with("ioPriority", serde_json::json!({"class": "IOPRIO_CLASS_IDLE", "priority": 7}))).unwrap();
        assert_eq!(p.io_priority, Some(3 << 13 | 7));
        assert!(err(with("ioPriority", serde_json::json!({"class": "IOPRIO_CLASS_BE", "priority": 9}))).contains("outside 0..7"));
        let p = plan(with("scheduler", serde_json::json!({"policy": "SCHED_BATCH", "nice": 5}))).unwrap();
        assert_eq!(p.scheduler, Some(SchedPlan { policy: libc::SCHED_BATCH as u32, nice: 5, ..Default::default() }));
        assert!(err(with("scheduler", serde_json::json!({"policy": "SCHED_FIFO"}))).contains("1..99"));
        assert!(err(with("scheduler", serde_json::json!({"policy": "SCHED_ISO"}))).contains("SCHED_ISO"));
    }

    #[test]
    fn affinity_console_and_refusals() {
        let p = plan(with("execCPUAffinity", serde_json::json!({"initial": "0", "final": "0-1,3"}))).unwrap();
        assert_eq!((p.cpu_affinity_initial, p.cpu_affinity_final), (Some(vec![0]), Some(vec![0, 1, 3])));
        assert!(err(with("execCPUAffinity", serde_json::json!({"final": "3-1"}))).contains("is not a CPU list"));
        let mut b = with("consoleSize", serde_json::json!({"height": 30, "width": 100}));
        assert!(err(b.clone()).contains("process.terminal is false"));
        b["terminal"] = serde_json::json!(true);
        assert_eq!(plan(b).unwrap().console_size, Some((30, 100)));
        assert!(err(with("apparmorProfile", serde_json::json!("p"))).starts_with("process.apparmorProfile: ERR_INVALID_SPEC: AppArmor"));
        assert!(err(with("selinuxLabel", serde_json::json!("l"))).starts_with("process.selinuxLabel: ERR_INVALID_SPEC: SELinux"));
        let mut b = base();
        b["user"]["username"] = serde_json::json!("nobody");
        assert!(err(b).starts_with("process.user.username: ERR_INVALID_SPEC: user names"));
    }
}
