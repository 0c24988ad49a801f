//! What the resource options are checked against: the host's CPUs and memory nodes, whether any
//! block device uses the BFQ scheduler (the only one with proportional I/O weights since Linux
//! 5.0), and the caller's rlimits and CAP_SYS_RESOURCE. Read once per build; a test gives its own.

/// CAP_SYS_RESOURCE's bit: raising a hard rlimit past the caller's needs it.
const CAP_SYS_RESOURCE: u32 = 24;

#[derive(Debug, Clone)]
pub struct Host {
    /// /sys/devices/system/cpu/online, e.g. `0-1`.
    pub cpus: String,
    /// /sys/devices/system/node/online (`0` where the kernel has no NUMA).
    pub mems: String,
    pub ncpu: u32,
    /// Some block device has BFQ selected in /sys/block/*/queue/scheduler.
    pub bfq: bool,
    /// The caller may raise hard rlimits (CAP_SYS_RESOURCE in its permitted and bounding sets).
    pub sys_resource: bool,
    /// The caller's hard limit of a resource (RLIMIT_*), u64::MAX for unlimited.
    pub hard_limit: fn(i32) -> u64,
}

fn own_hard_limit(resource: i32) -> u64 {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own; an unknown resource leaves it zeroed.
    if unsafe { libc::getrlimit(resource as libc::__rlimit_resource_t, &mut r) } != 0 {
        return u64::MAX;
    }
    r.rlim_max
}

impl Host {
    /// `caps`: the caller's capability mask (None: unknown, taken to be all).
    pub fn current(caps: Option<u64>) -> Host {
        let read = |p: &str| std::fs::read_to_string(p).map(|s| s.trim().to_string()).ok();
        let cpus = read("/sys/devices/system/cpu/online").unwrap_or_else(|| "0".into());
        let ncpu = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1);
        let bfq = std::fs::read_dir("/sys/block")
            .map(|rd| rd.flatten().any(|d| read(&format!("{}/queue/scheduler", d.path().display())).is_some_and(|s| s.contains("[bfq]"))))
            .unwrap_or(false);
        Host {
            cpus,
            mems: read("/sys/devices/system/node/online").unwrap_or_else(|| "0".into()),
            ncpu,
            bfq,
            sys_resource: caps.is_none_or(|c| c & (1 << CAP_SYS_RESOURCE) != 0),
            hard_limit: own_hard_limit,
        }
    }
}
