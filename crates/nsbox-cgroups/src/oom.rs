//! How many processes of a cgroup the OOM killer has killed: v1's `oom_kill` line in
//! `memory.oom_control`, v2's in `memory.events` (both Linux ≥ 4.13); and [`OomWatch`], which
//! tells the monitor the moment that count grows while the container runs (v1: an eventfd
//! registered in `cgroup.event_control`; v2: inotify on `memory.events`, which the kernel
//! notifies on every change), so an `oom` event is recorded even when the container survives.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::CgroupError;

fn field(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
}

/// The file holding the memory cgroup's `oom_kill` count, of the first of `dirs` that has one.
fn counter_of(dirs: &[PathBuf], kinds: &[String]) -> Option<(PathBuf, bool)> {
    dirs.iter().zip(kinds).find_map(|(dir, kind)| {
        if kind.split(',').any(|c| c == "memory") {
            Some((dir.join("memory.oom_control"), true))
        } else if kind.is_empty() && dir.join("memory.events").exists() {
            Some((dir.join("memory.events"), false))
        } else {
            None
        }
    })
}

/// OOM kills in the container's memory cgroup (`dirs`, `kinds` as placement records them);
/// 0 when it has none.
pub fn oom_kills(dirs: &[PathBuf], kinds: &[String]) -> u64 {
    counter_of(dirs, kinds).and_then(|(file, _)| field(&file, "oom_kill ")).unwrap_or(0)
}

enum Notifier {
    /// v1: signalled on each OOM of the cgroup (and when it is removed). Keeps the registration's
    /// memory.oom_control open for as long as the eventfd lives.
    EventFd(EventFd, #[allow(dead_code)] std::fs::File),
    /// v2: IN_MODIFY of memory.events.
    Inotify(Inotify),
}

/// Watches a memory cgroup's `oom_kill` count. Poll [`OomWatch::fd`]; on readiness call
/// [`OomWatch::ready`], and again after [`OomWatch::retry_in`] while that is Some: v1 notifies
/// when the cgroup runs out of memory, just before the kernel picks and kills a process.
pub struct OomWatch {
    notifier: Notifier,
    counter: PathBuf,
    /// Kills already reported.
    seen: u64,
    /// Notified but no kill counted yet: keep reading until then.
    pending: Option<Instant>,
}

/// How long a notification waits for its kill to be counted (the victim may be slow to pick).
const PENDING: Duration = Duration::from_secs(2);

impl OomWatch {
    /// A watch on the container's memory cgroup; None when it has none (rootless, no controller).
    pub fn new(dirs: &[PathBuf], kinds: &[String]) -> Result<Option<OomWatch>, CgroupError> {
        match counter_of(dirs, kinds) {
            Some((file, true)) => OomWatch::v1(file.parent().unwrap_or(Path::new("/"))).map(Some),
            Some((file, false)) => OomWatch::v2(file.parent().unwrap_or(Path::new("/"))).map(Some),
            None => Ok(None),
        }
    }

    /// v1: "<eventfd> <fd of memory.oom_control>" written to the cgroup's cgroup.event_control.
    pub fn v1(dir: &Path) -> Result<OomWatch, CgroupError> {
        let counter = dir.join("memory.oom_control");
        let control = std::fs::File::open(&counter).map_err(|e| CgroupError::io("open", &counter, &e))?;
        let efd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|errno| CgroupError::Sys { op: "eventfd", path: counter.display().to_string(), errno })?;
        let reg = dir.join("cgroup.event_control");
        let line = format!("{} {}", raw(efd.as_fd()), raw(control.as_fd()));
        std::fs::write(&reg, line).map_err(|e| CgroupError::io("write cgroup.event_control", &reg, &e))?;
        Ok(OomWatch { notifier: Notifier::EventFd(efd, control), counter, seen: 0, pending: None })
    }

    /// v2: inotify on memory.events.
    pub fn v2(dir: &Path) -> Result<OomWatch, CgroupError> {
        let counter = dir.join("memory.events");
        let sys = |op, errno| CgroupError::Sys { op, path: counter.display().to_string(), errno };
        let ino = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).map_err(|e| sys("inotify_init1", e))?;
        ino.add_watch(&counter, AddWatchFlags::IN_MODIFY).map_err(|e| sys("inotify_add_watch", e))?;
        Ok(OomWatch { notifier: Notifier::Inotify(ino), counter, seen: 0, pending: None })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        match &self.notifier {
            Notifier::EventFd(e, _) => e.as_fd(),
            Notifier::Inotify(i) => i.as_fd(),
        }
    }

    /// The fd was readable: drains it and returns the kills counted since the last report.
    pub fn ready(&mut self) -> u64 {
        match &self.notifier {
            Notifier::EventFd(e, _) => while e.read().is_ok() {},
            Notifier::Inotify(i) => while i.read_events().is_ok_and(|v| !v.is_empty()) {},
        }
        self.pending = Some(Instant::now() + PENDING);
        self.check()
    }

    /// The kills counted since the last report (0 when none), without waiting.
    pub fn check(&mut self) -> u64 {
        let now = field(&self.counter, "oom_kill ").unwrap_or(self.seen);
        if now > self.seen {
            let new = now - self.seen;
            self.seen = now;
            self.pending = None;
            return new;
        }
        if self.pending.is_some_and(|until| Instant::now() > until) {
            self.pending = None;
        }
        0
    }

    /// Some while a notification still waits for its kill to be counted: call `check` then.
    pub fn retry_in(&self) -> Option<Duration> {
        self.pending.map(|_| Duration::from_millis(10))
    }

    /// The kills reported so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

fn raw(fd: BorrowedFd<'_>) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nsbox-oom-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn v1_and_v2_counters() {
        let d = temp("count");
        let (a, b) = (d.join("v1"), d.join("v2"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n").unwrap();
        std::fs::write(b.join("memory.events"), "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n").unwrap();
        assert_eq!(oom_kills(&[a.clone()], &["memory".into()]), 2);
        assert_eq!(oom_kills(&[b.clone()], &[String::new()]), 1);
        assert_eq!(oom_kills(&[a, b], &["pids".into(), "name=systemd".into()]), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }

    fn readable(w: &OomWatch, ms: u16) -> bool {
        let mut fds = [PollFd::new(w.fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(ms)).unwrap() > 0
    }

    /// This host's cgroup2 has no memory controller: the v2 watch runs against a cgroup2-shaped
    /// directory whose memory.events is rewritten as the kernel would.
    #[test]
    fn v2_watch_sees_each_new_kill() {
        let d = temp("v2");
        let events = |oom: u32, kill: u32| format!("low 0\nhigh 0\nmax 3\noom {oom}\noom_kill {kill}\noom_group_kill 0\n");
        std::fs::write(d.join("memory.events"), events(0, 0)).unwrap();
        let mut w = OomWatch::new(&[d.clone()], &[String::new()]).unwrap().expect("a memory cgroup");
        assert_eq!(w.check(), 0);
        assert!(!readable(&w, 0));
        // The kernel counts the OOM first, then the kill: two modifications.
        std::fs::write(d.join("memory.events"), events(1, 0)).unwrap();
        assert!(readable(&w, 1000));
        assert_eq!(w.ready(), 0);
        assert!(w.retry_in().is_some(), "an oom without its kill yet is read again");
        std::fs::write(d.join("memory.events"), events(1, 1)).unwrap();
        assert!(readable(&w, 1000));
        assert_eq!(w.ready(), 1);
        assert!(w.retry_in().is_none());
        std::fs::write(d.join("memory.events"), events(3, 3)).unwrap();
        assert!(readable(&w, 1000));
        assert_eq!(w.ready(), 2);
        assert_eq!(w.seen(), 3);
        assert!(!readable(&w, 0), "drained");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn no_memory_cgroup_no_watch() {
        let d = temp("none");
        assert!(OomWatch::new(&[d.clone()], &[String::new()]).unwrap().is_none());
        assert!(OomWatch::new(&[d.clone()], &["pids".into()]).unwrap().is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
