//! `linux.resources.blockIO`: throttling (v1 `blkio.throttle.*_device`, v2 `io.max`), which works
//! with any I/O scheduler, and the proportional weight, which only BFQ implements since Linux 5.0
//! (v1 `blkio.bfq.weight`, v2 `io.bfq.weight`): where the kernel has no such file the write fails
//! naming it, never silently.

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use super::{invalid, Add, ResourceError};

pub(super) fn settings(b: &LinuxBlockIo, add: &mut Add<'_>) -> Result<(), ResourceError> {
    let f = |n: &str| format!("linux.resources.blockIO.{n}");
    if b.leaf_weight().is_some() {
        return Err(invalid(&f("leafWeight"), "leaf weights went with CFQ (Linux 5.0); not supported"));
    }
    if b.weight_device().as_ref().is_some_and(|w| !w.is_empty()) {
        return Err(invalid(&f("weightDevice"), "per-device weights are not supported by this runtime"));
    }
    if let Some(w) = b.weight() {
        if !(10..=1000).contains(&w) {
            return Err(invalid(&f("weight"), format!("{w} is outside 10..1000")));
        }
        add("linux.resources.blockIO.weight", "blkio", Some(("blkio.bfq.weight", w.to_string())), Some(("io.bfq.weight", w.to_string())));
    }
    let lists: [(&'static str, &Option<Vec<LinuxThrottleDevice>>, &'static str, &'static str); 4] = [
        ("linux.resources.blockIO.throttleReadBpsDevice", b.throttle_read_bps_device(), "blkio.throttle.read_bps_device", "rbps"),
        ("linux.resources.blockIO.throttleWriteBpsDevice", b.throttle_write_bps_device(), "blkio.throttle.write_bps_device", "wbps"),
        ("linux.resources.blockIO.throttleReadIOPSDevice", b.throttle_read_iops_device(), "blkio.throttle.read_iops_device", "riops"),
        ("linux.resources.blockIO.throttleWriteIOPSDevice", b.throttle_write_iops_device(), "blkio.throttle.write_iops_device", "wiops"),
    ];
    for (field, list, v1, key) in lists {
        for d in list.iter().flatten() {
            let dev = format!("{}:{}", d.major(), d.minor());
            // v1: 0 removes the limit; v2 spells that `max`.
            let v2 = if d.rate() == 0 { "max".to_string() } else { d.rate().to_string() };
            add(field, "blkio", Some((v1, format!("{dev} {}", d.rate()))), Some(("io.max", format!("{dev} {key}={v2}"))));
        }
    }
    Ok(())
}
