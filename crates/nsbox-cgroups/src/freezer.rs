//! The freezer: every process of a cgroup stops being scheduled. cgroup v2's `cgroup.freeze` where
//! there are v2 cgroups (pure v2, or the unified mount of a hybrid host: freezing needs no
//! controller there), else the v1 freezer's `freezer.state`. The kernel freezes asynchronously;
//! [`Freezer::set_frozen`] returns once it reports the new state.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::CgroupError;

/// How long the kernel may take to freeze a cgroup (it waits for each task to reach a safe point).
pub const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// A container's freezer: its v2 cgroups if it has any, else its v1 freezer cgroup.
pub enum Freezer {
    V2(Vec<PathBuf>),
    V1(PathBuf),
}

impl Freezer {
    /// The freezer among a container's cgroup directories, if it has one.
    pub fn of(dirs: &[PathBuf]) -> Option<Freezer> {
        let v2: Vec<PathBuf> = dirs.iter().filter(|d| d.join("cgroup.freeze").exists()).cloned().collect();
        if !v2.is_empty() {
            return Some(Freezer::V2(v2));
        }
        dirs.iter().find(|d| d.join("freezer.state").exists()).cloned().map(Freezer::V1)
    }

    pub fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        match self {
            Freezer::V2(dirs) => {
                for d in dirs {
                    write(&d.join("cgroup.freeze"), if frozen { "1" } else { "0" }, "write cgroup.freeze")?;
                }
                for d in dirs {
                    let events = d.join("cgroup.events");
                    let want = if frozen { "frozen 1" } else { "frozen 0" };
                    wait_until(&events, || {
                        let text = std::fs::read_to_string(&events).map_err(|e| CgroupError::io("read cgroup.events", &events, &e))?;
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
                    let now = std::fs::read_to_string(&state).map_err(|e| CgroupError::io("read freezer.state", &state, &e))?;
                    Ok(now.trim() == want)
                })
            }
        }
    }
}

fn write(path: &Path, value: &str, op: &'static str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|e| CgroupError::io(op, path, &e))
}

/// Polls `done` until it holds or the timeout passes.
fn wait_until(path: &Path, mut done: impl FnMut() -> Result<bool, CgroupError>) -> Result<(), CgroupError> {
    let deadline = Instant::now() + FREEZE_TIMEOUT;
    while !done()? {
        if Instant::now() > deadline {
            return Err(CgroupError::FreezeTimeout { path: path.display().to_string() });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}
