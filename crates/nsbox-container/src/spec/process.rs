//! The config's `process` (and `exec --process FILE`'s, the same schema) read into a
//! [`ProcessPlan`]: what the container's process is to be when it execs. Fields this runtime cannot
//! put in force are refused here, before anything exists.

use oci_spec::runtime::Process;

use super::SpecError;

type Result<T> = std::result::Result<T, SpecError>;

#[derive(Debug, Clone)]
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
    /// `process.rlimits`: (resource, soft, hard), set right before the identity changes.
    pub rlimits: Vec<(libc::__rlimit_resource_t, u64, u64)>,
    /// `process.user.umask` (None: the runtime's 0022).
    pub umask: Option<u32>,
    /// `process.oomScoreAdj`, written to /proc/self/oom_score_adj before exec.
    pub oom_score_adj: Option<i32>,
    /// `process.consoleSize` (rows, cols) for the pty.
    pub console_size: Option<(u16, u16)>,
}

const RLIMITS: [(&str, libc::__rlimit_resource_t); 16] = [
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
];

/// Reads one process object (the config's, or exec's `--process` file).
pub fn process_plan(p: &Process) -> Result<ProcessPlan> {
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(SpecError::new("process.args", "at least one argument (the command) is required"));
    }
    refuse_unsupported(p)?;
    let names = |s: Option<&std::collections::HashSet<oci_spec::runtime::Capability>>| -> Vec<String> {
        let mut v: Vec<String> = s.into_iter().flatten().map(|c| format!("CAP_{c}")).collect();
        v.sort();
        v
    };
    let caps = p.capabilities().clone().unwrap_or_default();
    let mut rlimits = Vec::new();
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        let name = serde_json::to_value(r.typ()).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let res = RLIMITS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
        let res = res.ok_or_else(|| SpecError::new(format!("process.rlimits[{i}].type"), format!("{name:?} is not a Linux rlimit")))?;
        if r.soft() > r.hard() {
            return Err(SpecError::new(format!("process.rlimits[{i}]"), format!("{name}: soft {} is above hard {}", r.soft(), r.hard())));
        }
        rlimits.push((res, r.soft(), r.hard()));
    }
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
        umask: p.user().umask(),
        oom_score_adj: p.oom_score_adj(),
        console_size: p.console_size().as_ref().map(|b| (b.height() as u16, b.width() as u16)),
    })
}

/// What no code of ours would put in force: refused, never silently dropped.
fn refuse_unsupported(p: &Process) -> Result<()> {
    let set = |s: &Option<String>| s.as_deref().is_some_and(|v| !v.is_empty());
    if set(p.apparmor_profile()) {
        return Err(SpecError::new("process.apparmorProfile", "AppArmor is not supported by this runtime (features: apparmor.enabled false)"));
    }
    if set(p.selinux_label()) {
        return Err(SpecError::new("process.selinuxLabel", "SELinux is not supported by this runtime (features: selinux.enabled false)"));
    }
    if p.io_priority().is_some() {
        return Err(SpecError::new("process.ioPriority", "not supported by this runtime yet"));
    }
    if p.scheduler().is_some() {
        return Err(SpecError::new("process.scheduler", "not supported by this runtime yet"));
    }
    if p.exec_cpu_affinity().is_some() {
        return Err(SpecError::new("process.execCPUAffinity", "not supported by this runtime yet"));
    }
    Ok(())
}
