//! Each group of options checked as docker checks it (its messages, word for word where it has
//! one) and written as the OCI section's JSON.

use serde_json::{json, Map, Value};

use super::units::{cpuset_list, nano_cpus};
use super::{invalid, size, Cpus, Host, ResourceOptions, Ulimit, MIN_MEMORY};
use crate::devices::{stat_device, DeviceKind};
use crate::WireError;

pub(super) fn memory(o: &ResourceOptions) -> Result<Map<String, Value>, WireError> {
    let mut m = Map::new();
    let limit = o.memory.as_ref().map(|v| size("memory", v, false)).transpose()?.filter(|l| *l != 0);
    if let Some(l) = limit {
        if l < MIN_MEMORY {
            return Err(invalid("memory", "Minimum memory limit allowed is 6MB"));
        }
        m.insert("limit".into(), json!(l));
    }
    if let Some(r) = o.memory_reservation.as_ref().map(|v| size("memoryReservation", v, false)).transpose()?.filter(|r| *r != 0) {
        if r < MIN_MEMORY {
            return Err(invalid("memoryReservation", "Minimum memory reservation allowed is 6MB"));
        }
        if limit.is_some_and(|l| l < r) {
            return Err(invalid("memoryReservation", "Minimum memory limit can not be less than memory reservation limit, see usage"));
        }
        m.insert("reservation".into(), json!(r));
    }
    if let Some(sw) = o.memory_swap.as_ref().map(|v| size("memorySwap", v, true)).transpose()?.filter(|s| *s != 0) {
        match limit {
            None if sw > 0 => return Err(invalid("memorySwap", "You should always set the Memory limit when using Memoryswap limit, see usage")),
            Some(l) if sw > 0 && sw < l => {
                return Err(invalid("memorySwap", "Minimum memoryswap limit should be larger than memory limit, see usage"))
            }
            _ => {}
        }
        m.insert("swap".into(), json!(sw));
    }
    // Validated, then left out: Linux ≥ 5.16 accepts kernel memory limits and ignores them.
    if let Some(k) = &o.kernel_memory {
        size("kernelMemory", k, true)?;
    }
    if o.oom_kill_disable == Some(true) {
        m.insert("disableOOMKiller".into(), json!(true));
    }
    Ok(m)
}

pub(super) fn cpu(o: &ResourceOptions, host: &Host) -> Result<Map<String, Value>, WireError> {
    let mut c = Map::new();
    if let Some(sh) = o.cpu_shares.filter(|s| *s != 0) {
        if !(2..=262144).contains(&sh) {
            return Err(invalid("cpuShares", format!("{sh} is outside the kernel's range 2..262144 (0: the default, 1024)")));
        }
        c.insert("shares".into(), json!(sh));
    }
    let period = o.cpu_period.filter(|p| *p != 0);
    if let Some(p) = period {
        if !(1000..=1_000_000).contains(&p) {
            return Err(invalid("cpuPeriod", "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"));
        }
    }
    let quota = o.cpu_quota.filter(|q| *q != 0);
    if let Some(q) = quota {
        if q > 0 && q < 1000 {
            return Err(invalid("cpuQuota", "CPU cfs quota can not be less than 1ms (i.e. 1000)"));
        }
    }
    if let Some(cpus) = &o.cpus {
        let nano = match cpus {
            Cpus::Number(n) if n.is_finite() && *n >= 0.0 => (n * 1e9).round() as i64,
            Cpus::Number(n) => return Err(invalid("cpus", format!("failed to parse {n} as a rational number"))),
            Cpus::Text(t) => nano_cpus(t).map_err(|m| invalid("cpus", m))?,
        };
        if nano != 0 {
            if period.is_some() {
                return Err(invalid("cpus", "Conflicting options: Nano CPUs and CPU Period cannot both be set"));
            }
            if quota.is_some() {
                return Err(invalid("cpus", "Conflicting options: Nano CPUs and CPU Quota cannot both be set"));
            }
            let max = i64::from(host.ncpu) * 1_000_000_000;
            if !(10_000_000..=max).contains(&nano) {
                return Err(invalid("cpus", format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available", n = host.ncpu)));
            }
            // runc's conversion: a 100 ms period, the quota in proportion.
            c.insert("period".into(), json!(100_000));
            c.insert("quota".into(), json!(nano / 10_000));
        }
    }
    if let Some(p) = period {
        c.insert("period".into(), json!(p));
    }
    if let Some(q) = quota {
        c.insert("quota".into(), json!(if q < 0 { -1 } else { q }));
    }
    for (field, key, value, online, what) in [
        ("cpusetCpus", "cpus", &o.cpuset_cpus, &host.cpus, ("cpus", "CPUs")),
        ("cpusetMems", "mems", &o.cpuset_mems, &host.mems, ("mems", "memory nodes")),
    ] {
        let Some(v) = value.as_deref().filter(|v| !v.is_empty()) else { continue };
        let Some(asked) = cpuset_list(v) else { return Err(invalid(field, format!("Invalid value {v} for cpuset {}", what.0))) };
        let have = cpuset_list(online).unwrap_or_default();
        if asked.iter().any(|n| !have.contains(n)) {
            return Err(invalid(field, format!("Requested {} are not available - requested {v}, available: {online}", what.1)));
        }
        c.insert(key.into(), json!(v));
    }
    Ok(c)
}

pub(super) fn block_io(o: &ResourceOptions, host: &Host) -> Result<Map<String, Value>, WireError> {
    let mut b = Map::new();
    if let Some(w) = o.blkio_weight.filter(|w| *w != 0) {
        if !(10..=1000).contains(&w) {
            return Err(invalid("blkioWeight", "Range of blkio weight is from 10 to 1000"));
        }
        if !host.bfq {
            return Err(invalid(
                "blkioWeight",
                "this kernel cannot enforce an I/O weight: no block device uses the BFQ scheduler (see /sys/block/*/queue/scheduler), the only one with weights since Linux 5.0",
            ));
        }
        b.insert("weight".into(), json!(w));
    }
    for (field, key, list, bytes) in [
        ("deviceReadBps", "throttleReadBpsDevice", &o.device_read_bps, true),
        ("deviceWriteBps", "throttleWriteBpsDevice", &o.device_write_bps, true),
        ("deviceReadIops", "throttleReadIOPSDevice", &o.device_read_iops, false),
        ("deviceWriteIops", "throttleWriteIOPSDevice", &o.device_write_iops, false),
    ] {
        let mut out = Vec::new();
        for (i, text) in list.iter().enumerate() {
            let f = format!("{field}[{i}]");
            let bad = || {
                let unit = if bytes { "<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb" } else { "<number>. Number must be a positive integer" };
                invalid(&f, format!("invalid rate for device: {text}. The correct format is <device-path>:{unit}"))
            };
            let Some((path, rate)) = text.rsplit_once(':') else { return Err(invalid(&f, format!("bad format: {text}"))) };
            let rate: u64 = if bytes {
                super::units::ram_in_bytes(rate).ok().filter(|r| *r > 0).ok_or_else(bad)? as u64
            } else {
                rate.parse().ok().filter(|r| *r > 0).ok_or_else(bad)?
            };
            // The same stat() as --device, so the rule and the node agree on the device's numbers.
            let dev = stat_device(path).map_err(|e| invalid(&f, e.to_string()))?;
            if dev.kind != DeviceKind::Block {
                return Err(invalid(&f, format!("{path} is not a block device")));
            }
            out.push(json!({"major": dev.major, "minor": dev.minor, "rate": rate}));
        }
        if !out.is_empty() {
            b.insert(key.into(), Value::Array(out));
        }
    }
    Ok(b)
}

/// docker's names (go-units) → RLIMIT_*.
const ULIMITS: [(&str, &str, i32); 16] = [
    ("as", "RLIMIT_AS", libc::RLIMIT_AS as i32),
    ("core", "RLIMIT_CORE", libc::RLIMIT_CORE as i32),
    ("cpu", "RLIMIT_CPU", libc::RLIMIT_CPU as i32),
    ("data", "RLIMIT_DATA", libc::RLIMIT_DATA as i32),
    ("fsize", "RLIMIT_FSIZE", libc::RLIMIT_FSIZE as i32),
    ("locks", "RLIMIT_LOCKS", libc::RLIMIT_LOCKS as i32),
    ("memlock", "RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as i32),
    ("msgqueue", "RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as i32),
    ("nice", "RLIMIT_NICE", libc::RLIMIT_NICE as i32),
    ("nofile", "RLIMIT_NOFILE", libc::RLIMIT_NOFILE as i32),
    ("nproc", "RLIMIT_NPROC", libc::RLIMIT_NPROC as i32),
    ("rss", "RLIMIT_RSS", libc::RLIMIT_RSS as i32),
    ("rtprio", "RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as i32),
    ("rttime", "RLIMIT_RTTIME", libc::RLIMIT_RTTIME as i32),
    ("sigpending", "RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as i32),
    ("stack", "RLIMIT_STACK", libc::RLIMIT_STACK as i32),
];

/// -1 (or `unlimited`) is RLIM_INFINITY.
fn rlim(v: i64) -> u64 {
    if v < 0 { u64::MAX } else { v as u64 }
}

pub(super) fn rlimits(list: &[Ulimit], host: &Host) -> Result<Vec<Value>, WireError> {
    let mut out: Vec<Value> = Vec::new();
    let mut seen = Vec::new();
    for (i, u) in list.iter().enumerate() {
        let f = format!("ulimits[{i}]");
        let (name, soft, hard) = match u {
            Ulimit::Object { name, soft, hard } => (name.clone(), *soft, hard.unwrap_or(*soft)),
            Ulimit::Text(t) => {
                let Some((name, values)) = t.split_once('=') else { return Err(invalid(&f, format!("invalid ulimit argument: {t}"))) };
                let parts: Vec<&str> = values.split(':').collect();
                if parts.len() > 2 {
                    return Err(invalid(&f, format!("too many limit value arguments - {values}, can only have up to two, `soft[:hard]`")));
                }
                let num = |s: &str| match s {
                    "unlimited" => Ok(-1),
                    s => s.parse::<i64>().map_err(|_| invalid(&f, format!("invalid ulimit argument: {t}: {s:?} is not a number"))),
                };
                let soft = num(parts[0])?;
                let hard = parts.get(1).map(|h| num(h)).transpose()?.unwrap_or(soft);
                (name.to_string(), soft, hard)
            }
        };
        let Some((_, oci, resource)) = ULIMITS.iter().find(|(n, _, _)| *n == name) else {
            return Err(invalid(&f, format!("invalid ulimit type: {name}")));
        };
        let (soft, hard) = (rlim(soft), rlim(hard));
        if soft > hard {
            return Err(invalid(&f, format!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")));
        }
        if seen.contains(resource) {
            return Err(invalid(&f, format!("{name} is given twice")));
        }
        seen.push(*resource);
        let caller = (host.hard_limit)(*resource);
        if hard > caller && !host.sys_resource {
            let show = |v: u64| if v == u64::MAX { "unlimited".to_string() } else { v.to_string() };
            return Err(invalid(
                &f,
                format!(
                    "{name}: hard limit {} is above the caller's hard limit {}; raising it needs CAP_SYS_RESOURCE, which the caller does not have",
                    show(hard),
                    show(caller)
                ),
            ));
        }
        out.push(json!({"type": oci, "soft": soft, "hard": hard}));
    }
    Ok(out)
}
