//! `.cgroups-ID` in the state root (a dot file: no container listing sees it): the cgroup directories a runtime process made for a container,
//! with that process's pid and start time, written before the first of them is made (so it may
//! name directories that never came to exist: removing those is a no-op) and removed with them. A foreground `run` keeps no other state, so without this a runtime killed by SIGKILL left
//! `nsbox-ID` in every hierarchy with nothing pointing at it. A later `run` of that id or
//! `delete ID` finds the record, sees its writer dead, and removes what it names (each directory
//! killed first: the container's processes may outlive the runtime until PDEATHSIG lands).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{alive, create_private, start_time};

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    pid: i32,
    start_time: Option<u64>,
    dirs: Vec<String>,
    /// Made on the way to a `cgroupsPath`: removed after `dirs` when empty.
    #[serde(default)]
    parents: Vec<String>,
}

/// Whether `dir` is on a cgroup filesystem (v1 or v2): a record is never trusted to name anything else.
fn is_cgroup(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return false };
    // SAFETY: statfs fills the struct we own from a NUL-terminated path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return false;
    }
    matches!(st.f_type as i64, 0x27e0eb | 0x63677270)
}

fn file(root: &Path, id: &str) -> PathBuf {
    root.join(format!(".cgroups-{id}"))
}

/// Records `dirs` for `id` as this process's. Best effort: a root we cannot write leaves only the
/// SIGKILL case uncovered, which is no reason to fail the container. A root that does not exist
/// yet is not made for this (a failed start must leave the host as it was): only foreground runs
/// in a state root no container has used stay uncovered. Returns whether it was written.
pub fn write(root: &Path, id: &str, dirs: &[PathBuf], parents: &[PathBuf]) -> bool {
    if dirs.is_empty() {
        return false;
    }
    let pid = std::process::id() as i32;
    let text = |v: &[PathBuf]| v.iter().map(|d| d.display().to_string()).collect();
    let rec = Record { pid, start_time: start_time(pid), dirs: text(dirs), parents: text(parents) };
    let path = file(root, id);
    if !root.is_dir() {
        return false;
    }
    let _ = std::fs::remove_file(&path);
    match create_private(&path, true) {
        Ok(mut f) => f.write_all(&serde_json::to_vec(&rec).unwrap_or_default()).is_ok(),
        Err(_) => false,
    }
}

/// The cgroups are gone (or the container's state took them over): the record goes too.
pub fn remove(root: &Path, id: &str) {
    let _ = std::fs::remove_file(file(root, id));
}

/// A record whose writer is dead: its cgroups are emptied and removed and the record deleted.
/// Returns whether there was such a record (false too while its writer lives).
pub fn reap(root: &Path, id: &str) -> bool {
    let path = file(root, id);
    let Ok(text) = std::fs::read_to_string(&path) else { return false };
    let Ok(rec) = serde_json::from_str::<Record>(&text) else {
        let _ = std::fs::remove_file(&path);
        return false;
    };
    if alive(Some(rec.pid), rec.start_time) {
        return false;
    }
    // Only what the record names, and only cgroup directories (one never made is not there).
    for dir in rec.dirs.iter().rev().map(Path::new).filter(|d| is_cgroup(d)) {
        let _ = nsbox_cgroups::remove_cgroup(dir);
    }
    for dir in rec.parents.iter().map(Path::new).filter(|d| is_cgroup(d)) {
        let _ = std::fs::remove_dir(dir);
    }
    let _ = std::fs::remove_file(&path);
    true
}
