//! `update`: new limits for a running container's cgroups. The same settings as at creation, in an
//! order the kernel accepts (v1 refuses a memory limit above the memory+swap limit, so raising
//! both writes memsw first), and docker's checks against what is already set.

use std::path::{Path, PathBuf};

use super::{apply, unavailable, ResourceError, Resources, Setting};

fn read_num(path: &Path) -> Option<i64> {
    let t = std::fs::read_to_string(path).ok()?;
    match t.trim() {
        "max" => Some(i64::MAX),
        v => v.parse().ok(),
    }
}

fn v1(s: &Setting) -> Option<&str> {
    s.v1.as_ref().map(|(_, v)| v.as_str())
}

/// Writes `res` into a live container's cgroups (`dirs`, `kinds` as [`apply`] takes them).
/// `check_usage`: OCI's `memory.checkBeforeUpdate`, refusing a limit below what is in use.
pub fn update(res: &Resources, dirs: &[PathBuf], kinds: &[String], check_usage: bool) -> Result<(), ResourceError> {
    let mut res = res.clone();
    let limit = res.settings.iter().position(|s| s.field == "linux.resources.memory.limit");
    let swap = res.settings.iter().position(|s| s.field == "linux.resources.memory.swap");
    let mem_dir = kinds.iter().position(|k| k.split(',').any(|c| c == "memory")).map(|i| &dirs[i]);
    if let (Some(li), Some(dir)) = (limit, mem_dir) {
        let new: i64 = v1(&res.settings[li]).and_then(|v| v.parse().ok()).unwrap_or(-1);
        let new = if new < 0 { i64::MAX } else { new };
        let memsw = read_num(&dir.join("memory.memsw.limit_in_bytes"));
        match swap {
            // Raising: memory+swap first, or the kernel refuses the memory limit (EINVAL).
            Some(si) if read_num(&dir.join("memory.limit_in_bytes")).is_some_and(|cur| new > cur) && si > li => {
                let s = res.settings.remove(si);
                res.settings.insert(li, s);
            }
            None if memsw.is_some_and(|m| m < i64::MAX / 2 && new > m) => {
                return Err(ResourceError::Invalid {
                    field: "linux.resources.memory.limit".into(),
                    msg: "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time".into(),
                });
            }
            _ => {}
        }
        if check_usage {
            let usage = read_num(&dir.join("memory.usage_in_bytes")).unwrap_or(0);
            if new < usage {
                return Err(unavailable(&res.settings[li], &format!("the new limit {new} is below the memory in use, {usage} bytes (checkBeforeUpdate)")));
            }
        }
    }
    apply(&res, dirs, kinds)
}
