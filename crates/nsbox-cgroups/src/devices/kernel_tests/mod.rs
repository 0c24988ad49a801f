//! Real-kernel tests, as root. Every cgroup they make is a new child of this process's own cgroup
//! in that hierarchy, removed by a guard even when the test fails; the only block device they ever
//! touch is a loop device over a 1 MiB file they create (see `loopdev`).
//!
//! Without root they print a note and return, unless NSBOX_REQUIRE_PRIV=1 (CI), where that is a
//! failure: a skipped privileged test must not pass as a tested one.

mod bpf_kernel;
mod loopdev;
mod probe;
mod v1_kernel;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn privileged(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("NSBOX_REQUIRE_PRIV").as_deref() != Ok("1"),
        "{test}: needs root, and NSBOX_REQUIRE_PRIV=1 forbids skipping"
    );
    eprintln!("{test}: not run: needs root (NSBOX_REQUIRE_PRIV=1 makes this a failure)");
    false
}

/// Our own cgroup directory in the v1 hierarchy holding `controller`, or in cgroup2 when
/// `controller` is None; None when the host has no such hierarchy mounted.
pub fn own_cgroup_dir(controller: Option<&str>) -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let left: Vec<&str> = left.split_whitespace().collect();
        let right: Vec<&str> = right.split_whitespace().collect();
        let (root, point, fstype, opts) = (*left.get(3)?, *left.get(4)?, *right.first()?, *right.get(2)?);
        let wanted = match controller {
            None => fstype == "cgroup2",
            Some(c) => fstype == "cgroup" && opts.split(',').any(|o| o == c),
        };
        (wanted && root == "/").then(|| PathBuf::from(point))
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let wanted = match controller {
            None => ctrls.is_empty(),
            Some(c) => ctrls.split(',').any(|x| x == c),
        };
        wanted.then(|| path.trim_start_matches('/').to_string())
    })?;
    Some(mount.join(rel))
}

fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A cgroup this test made; removed on drop (after the probes' children are reaped).
pub struct TestCgroup {
    pub dir: PathBuf,
}

impl TestCgroup {
    pub fn create(parent: &Path) -> TestCgroup {
        let dir = parent.join(unique("nsbox-test"));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        TestCgroup { dir }
    }

    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // A just-reaped child can keep the cgroup busy for a moment.
        for attempt in 0..50 {
            match std::fs::remove_dir(&self.dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => std::thread::sleep(std::time::Duration::from_millis(2 * (attempt + 1))),
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return eprintln!("rmdir {}: {e}", self.dir.display()),
                _ => return,
            }
        }
        eprintln!("rmdir {}: still busy", self.dir.display());
    }
}

pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(unique("nsbox-devtest"));
        std::fs::create_dir(&path).unwrap();
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
