//! `pause` / `resume` (docker's pause/unpause): every process of the container stops being scheduled,
//! through its cgroup. cgroup v2's `cgroup.freeze` where the container has a v2 cgroup (pure v2, or
//! the unified mount of a hybrid host: freezing needs no controller there), else the v1 freezer's
//! `freezer.state`. The kernel freezes asynchronously; pause returns once it reports frozen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use crate::error::{rule_wire, sys_wire, Result};
use crate::state::{Root, State};

/// How long the kernel may take to freeze a container (it waits for each task to reach a safe point).
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum FreezeError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("{op}(): ERR_NOT_RUNNING: container {name} is {status}")]
    NotRunning { op: &'static str, name: String, status: String },
    #[error("resume(): ERR_NOT_PAUSED: container {name} is not paused")]
    NotPaused { name: String },
    #[error("pause({name}): ENOTSUP: the container has no freezer (no cgroup v2 and no v1 freezer cgroup of its own)")]
    NoFreezer { name: String },
    #[error("pause({path}): ETIMEDOUT: not frozen after {} s", FREEZE_TIMEOUT.as_secs())]
    Timeout { path: String },
}

impl FreezeError {
    pub fn to_wire(&self) -> WireError {
        match self {
            FreezeError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            FreezeError::NotRunning { op, name, status } => {
                rule_wire("ERR_NOT_RUNNING", op, "", &format!("container {name} is {status}"))
            }
            FreezeError::NotPaused { name } => rule_wire("ERR_NOT_PAUSED", "resume", "", &format!("container {name} is not paused")),
            FreezeError::NoFreezer { name } => sys_wire("pause", name, Errno::ENOTSUP, "the container has no freezer cgroup"),
            FreezeError::Timeout { path } => sys_wire("pause", path, Errno::ETIMEDOUT, "the kernel did not finish freezing"),
        }
    }

    fn io(op: &'static str, path: &Path, e: &std::io::Error) -> FreezeError {
        FreezeError::Sys { op, path: path.display().to_string(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
    }
}

/// The container's freezer: its v2 cgroups if it has any, else its v1 freezer cgroup.
enum Freezer {
    V2(Vec<PathBuf>),
    V1(PathBuf),
}

fn freezer_of(st: &State) -> Option<Freezer> {
    let dirs: Vec<PathBuf> = st.cgroups.iter().map(PathBuf::from).collect();
    let v2: Vec<PathBuf> = dirs.iter().filter(|d| d.join("cgroup.freeze").exists()).cloned().collect();
    if !v2.is_empty() {
        return Some(Freezer::V2(v2));
    }
    dirs.into_iter().find(|d| d.join("freezer.state").exists()).map(Freezer::V1)
}

fn write(path: &Path, value: &str, op: &'static str) -> std::result::Result<(), FreezeError> {
    std::fs::write(path, value).map_err(|e| FreezeError::io(op, path, &e))
}

/// Polls `done` until it holds or the timeout passes.
fn wait_until(path: &Path, mut done: impl FnMut() -> std::result::Result<bool, FreezeError>) -> std::result::Result<(), FreezeError> {
    let deadline = Instant::now() + FREEZE_TIMEOUT;
    while !done()? {
        if Instant::now() > deadline {
            return Err(FreezeError::Timeout { path: path.display().to_string() });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn set_frozen(f: &Freezer, frozen: bool) -> std::result::Result<(), FreezeError> {
    match f {
        Freezer::V2(dirs) => {
            for d in dirs {
                write(&d.join("cgroup.freeze"), if frozen { "1" } else { "0" }, "write cgroup.freeze")?;
            }
            for d in dirs {
                let events = d.join("cgroup.events");
                let want = if frozen { "frozen 1" } else { "frozen 0" };
                wait_until(&events, || {
                    let text = std::fs::read_to_string(&events).map_err(|e| FreezeError::io("read cgroup.events", &events, &e))?;
                    Ok(text.lines().any(|l| l.trim() == want))
                })?;
            }
            Ok(())
        }
        Freezer::V1(dir) => {
            let state = dir.join("freezer.state");
            let want = if frozen { "FROZEN" } else { "THAWED" };
            // v1 reports FREEZING until every task stopped; writing FROZEN again retries the stragglers.
            wait_until(&state, || {
                write(&state, want, "write freezer.state")?;
                let now = std::fs::read_to_string(&state).map_err(|e| FreezeError::io("read freezer.state", &state, &e))?;
                Ok(now.trim() == want)
            })
        }
    }
}

pub fn pause(root: &Root, reference: &str) -> Result<()> {
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    let status = st.live_status();
    if status != "running" {
        return Err(FreezeError::NotRunning { op: "pause", name: st.name.clone(), status: status.to_string() }.into());
    }
    let f = freezer_of(&st).ok_or_else(|| FreezeError::NoFreezer { name: st.name.clone() })?;
    set_frozen(&f, true)?;
    // Frozen, it cannot exit any more; but it may have done so just before: then it stays exited.
    let mut st = root.read(&id)?;
    if st.live_status() == "running" {
        st.status = "paused".into();
        root.write(&st)?;
        root.event("pause", &st);
    }
    Ok(())
}

pub fn resume(root: &Root, reference: &str) -> Result<()> {
    let id = root.find(reference)?;
    let mut st = root.read(&id)?;
    if st.live_status() != "paused" {
        return Err(FreezeError::NotPaused { name: st.name.clone() }.into());
    }
    let f = freezer_of(&st).ok_or_else(|| FreezeError::NoFreezer { name: st.name.clone() })?;
    // Recorded first: once thawed it may exit at once, and its monitor then records that.
    st.status = "running".into();
    root.write(&st)?;
    set_frozen(&f, false)?;
    root.event("unpause", &st);
    Ok(())
}

/// Best effort, for `delete -f`: a frozen (v1) task takes no signal, not even SIGKILL, until thawed.
pub fn thaw(st: &State) {
    if let Some(f) = freezer_of(st) {
        let _ = set_frozen(&f, false);
    }
}
