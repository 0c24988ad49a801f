//! A rootless store's id maps, fixed when the store is made (`idmap.json` at its root): the user's
//! own id is 0 inside and, when /etc/subuid and /etc/subgid give the user ranges and newuidmap and
//! newgidmap are installed, those ranges are 1… inside — podman's default. Layers are unpacked and
//! containers run with these maps, so a file owned by 1000 in a layer is 1000 in the container;
//! without ranges every file is the user's (root inside). Recorded, not re-read: layers unpacked
//! under one mapping must not be used under another (a later /etc/subuid change keeps the store's).

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::unistd::{getegid, geteuid, User};
use nsbox_core::idmap::IdMapping;
use serde::{Deserialize, Serialize};

use super::{Result, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdMaps {
    pub uid_map: Vec<IdMapping>,
    pub gid_map: Vec<IdMapping>,
}

impl IdMaps {
    /// Only the user's own ids (no subordinate ranges).
    pub fn single(&self) -> bool {
        self.uid_map.len() <= 1 && self.gid_map.len() <= 1
    }

    /// The caller's maps as this host gives them now.
    pub fn of_host(sub_uid: &Path, sub_gid: &Path) -> IdMaps {
        let (uid, gid) = (geteuid().as_raw(), getegid().as_raw());
        let name = User::from_uid(geteuid()).ok().flatten().map(|u| u.name).unwrap_or_default();
        let own = |id| vec![IdMapping { inside: 0, outside: id, length: 1 }];
        let helpers = ["newuidmap", "newgidmap"].iter().all(|h| ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].iter().any(|d| Path::new(d).join(h).exists()));
        let (us, gs) = (ranges(sub_uid, &name, uid), ranges(sub_gid, &name, gid));
        if !helpers || us.is_empty() || gs.is_empty() {
            return IdMaps { uid_map: own(uid), gid_map: own(gid) };
        }
        let stack = |id, rs: Vec<(u32, u32)>| {
            let mut m = own(id);
            let mut next = 1u32;
            for (start, count) in rs {
                m.push(IdMapping { inside: next, outside: start, length: count });
                next = next.saturating_add(count);
            }
            m
        };
        IdMaps { uid_map: stack(uid, us), gid_map: stack(gid, gs) }
    }
}

/// `name:start:count` or `uid:start:count` lines for the user (subuid(5)), in file order.
fn ranges(file: &Path, name: &str, id: u32) -> Vec<(u32, u32)> {
    let Ok(text) = fs::read_to_string(file) else { return vec![] };
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            let mine = f.len() == 3 && ((!name.is_empty() && f[0] == name) || f[0] == id.to_string());
            let (start, count) = (f.get(1)?.parse::<u32>().ok()?, f.get(2)?.parse::<u32>().ok()?);
            (mine && count > 0 && start.checked_add(count - 1).is_some()).then_some((start, count))
        })
        .collect()
}

/// The store's recorded maps; a new store records the host's.
pub fn recorded(root: &Path) -> Result<IdMaps> {
    let path = root.join("idmap.json");
    let parse = |text: &str| serde_json::from_str::<IdMaps>(text).map_err(|e| StoreError::invalid(path.display().to_string(), format!("not the store's id maps: {e}")));
    match fs::read_to_string(&path) {
        Ok(text) => return parse(&text),
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(StoreError::io("read", &path, &e)),
        Err(_) => {}
    }
    let maps = IdMaps::of_host(Path::new("/etc/subuid"), Path::new("/etc/subgid"));
    let text = serde_json::to_string(&maps).map_err(|e| StoreError::invalid("idmap.json", e.to_string()))?;
    // Two first opens at once: one file wins, the other reads it.
    let tmp = root.join(format!("idmap.json.{}", std::process::id()));
    let mut f = OpenOptions::new().create(true).truncate(true).write(true).mode(0o644).open(&tmp).map_err(|e| StoreError::io("create", &tmp, &e))?;
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(|e| StoreError::io("write", &tmp, &e))?;
    let linked = fs::hard_link(&tmp, &path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(maps),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => parse(&fs::read_to_string(&path).map_err(|e| StoreError::io("read", &path, &e))?),
        Err(e) => Err(StoreError::io("link", &path, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_name_or_uid() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("subuid");
        fs::write(&f, "alice:100000:65536\n# x\n1001:200000:10\nbob:1:0\nalice:bad:1\n").unwrap();
        assert_eq!(ranges(&f, "alice", 1000), vec![(100000, 65536)]);
        assert_eq!(ranges(&f, "carol", 1001), vec![(200000, 10)]);
        assert_eq!(ranges(&f, "bob", 5), vec![]);
        assert_eq!(ranges(&d.path().join("none"), "alice", 1000), vec![]);
    }
}
