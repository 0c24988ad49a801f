//! Emptying and removing a container's cgroups for `delete`, whether or not its monitor still
//! lives: everything in them is killed first, since a cgroup with processes cannot be removed.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::CgroupError;

/// SIGKILL to every process in the cgroup (cgroup.kill where the kernel has it), repeated until
/// it is empty or a second has passed.
pub fn kill_cgroup(dir: &Path) {
    let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        let pids: Vec<i32> = procs.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        for p in pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// rmdir, killing again whatever keeps the cgroup busy; a cgroup already gone is fine.
pub fn remove_cgroup(dir: &Path) -> Result<(), CgroupError> {
    for attempt in 0..100u64 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 99 => {
                kill_cgroup(dir);
                std::thread::sleep(Duration::from_millis(2 + attempt));
            }
            Err(e) => return Err(CgroupError::io("rmdir", dir, &e)),
        }
    }
    Ok(())
}
