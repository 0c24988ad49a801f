//! A cgroup of the container's own in every hierarchy where we may create one: by default
//! `nsbox-<id>` below the runtime's own cgroup; with `linux.cgroupsPath`, that path (absolute:
//! below each hierarchy's root; relative: below the runtime's own cgroup, as runc reads it). Only
//! cgroups we create are used and removed, never one that existed before; processes that join a
//! running container (exec) are placed in the same cgroups.

use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;

use crate::delegate::{delegate, v2_needs};
use crate::hierarchy::hierarchies;
use crate::CgroupError;

/// `linux.cgroupsPath`, checked: no `..`, not systemd's `slice:prefix:name`.
#[derive(Debug, Clone, PartialEq)]
pub enum CgroupsPath {
    Absolute(PathBuf),
    Relative(PathBuf),
}

impl CgroupsPath {
    pub fn parse(s: &str) -> Result<CgroupsPath, String> {
        if s.contains(':') {
            return Err(format!("{s:?} is systemd's slice:prefix:name form, which needs systemd's cgroup manager (not available here); give a path"));
        }
        let p = Path::new(s);
        if s.is_empty() || p.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
            return Err(format!("{s:?} is not a cgroup path (no empty, . or .. components)"));
        }
        let rel: PathBuf = p.components().filter(|c| matches!(c, Component::Normal(_))).collect();
        if rel.as_os_str().is_empty() {
            return Err(format!("{s:?} names the root cgroup, which is not the container's to use"));
        }
        Ok(if p.is_absolute() { CgroupsPath::Absolute(rel) } else { CgroupsPath::Relative(rel) })
    }
}

pub struct Cgroups {
    /// The container's cgroups, one per hierarchy, and that hierarchy's controllers as
    /// /proc/self/cgroup names them (empty for cgroup2).
    pub dirs: Vec<PathBuf>,
    pub kinds: Vec<String>,
    /// Directories made on the way to a `cgroupsPath` (deepest first), removed after `dirs` when
    /// nothing else uses them.
    pub parents: Vec<PathBuf>,
}

/// Moves `pid` into each of `dirs`, in order.
pub fn join_dirs<P: AsRef<Path>>(dirs: &[P], pid: u32) -> Result<(), CgroupError> {
    for dir in dirs {
        let procs = dir.as_ref().join("cgroup.procs");
        std::fs::write(&procs, pid.to_string()).map_err(|e| CgroupError::io("write cgroup.procs", &procs, &e))?;
    }
    Ok(())
}

fn own_cgroups() -> String {
    std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default()
}

fn own_path(own: &str, ctrls: &str) -> Option<String> {
    own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, c, path) = (parts.next()?, parts.next()?, parts.next()?);
        (c == ctrls).then(|| path.trim_start_matches('/').to_string())
    })
}

/// Called with the directories a container is about to get (and the parents made on the way)
/// before the first mkdir, so a SIGKILL at any later point leaves them recorded.
pub type Record<'a> = &'a mut dyn FnMut(&[PathBuf], &[PathBuf]);

impl Cgroups {
    /// `nsbox-<id>` below our own cgroup in each hierarchy we can write to; a hierarchy we may not
    /// write (rootless, read-only cgroupfs) is skipped and the container shares our cgroup there.
    /// cpuset is left out unless `needs` has it: a new v1 cpuset cgroup needs cpus and mems. One
    /// that exists already is an error (another container with this id, under another state root,
    /// has it: sharing it would mix two containers' processes, device rules and limits). On
    /// cgroup2, the controllers of `needs` that no v1 hierarchy holds are enabled for it in our
    /// cgroup's cgroup.subtree_control (a delegated subtree when rootless), or refused by name.
    pub fn create(id: &str, needs: &[&str], record: Record<'_>) -> Result<Cgroups, CgroupError> {
        Cgroups::create_in(&hierarchies(), &own_cgroups(), id, needs, record)
    }

    /// [`Cgroups::create`] given the hierarchies and /proc/self/cgroup (tests give a cgroup2-shaped tree).
    fn create_in(all: &[(String, PathBuf)], own: &str, id: &str, needs: &[&str], record: Record<'_>) -> Result<Cgroups, CgroupError> {
        let name = format!("nsbox-{}", &id[..id.len().min(32)]);
        let mut targets = Vec::new();
        for (ctrls, mount) in all {
            let is_cpuset = ctrls.split(',').any(|c| c == "cpuset");
            if is_cpuset && !needs.contains(&"cpuset") {
                continue;
            }
            let Some(rel) = own_path(own, ctrls) else { continue };
            let dir = mount.join(rel).join(&name);
            if dir.exists() {
                return Err(CgroupError::Exists { path: dir.display().to_string() });
            }
            targets.push((ctrls.clone(), dir, is_cpuset));
        }
        let planned: Vec<PathBuf> = targets.iter().map(|t| t.1.clone()).collect();
        record(&planned, &[]);
        crate::test_stop_at("cgroups-recorded");
        let mut c = Cgroups { dirs: vec![], kinds: vec![], parents: vec![] };
        for (ctrls, dir, is_cpuset) in targets {
            if ctrls.is_empty() {
                if let Err(e) = delegate(&dir, &v2_needs(needs, all)) {
                    for e in c.remove() {
                        eprintln!("nsbox-runtime: cleanup: {}", e.to_wire());
                    }
                    return Err(e);
                }
            }
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    if is_cpuset && inherit_cpuset(&dir).is_err() {
                        let _ = std::fs::remove_dir(&dir);
                        continue;
                    }
                    c.dirs.push(dir);
                    c.kinds.push(ctrls);
                    if c.dirs.len() == 1 {
                        crate::test_stop_at("cgroups-first-mkdir");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // Ours so far go again; theirs stays.
                    let _ = c.remove();
                    return Err(CgroupError::Exists { path: dir.display().to_string() });
                }
                // Not allowed (rootless, read-only cgroupfs): the container simply shares ours.
                Err(_) => {}
            }
        }
        Ok(c)
    }

    /// The cgroups `linux.cgroupsPath` names, in every hierarchy (cpuset too, given its parent's
    /// cpus and mems). Each must not exist yet; any failure removes what was made and is returned.
    pub fn create_at(path: &CgroupsPath, record: Record<'_>) -> Result<Cgroups, CgroupError> {
        let own = own_cgroups();
        let mut targets = Vec::new();
        for (ctrls, mount) in hierarchies() {
            let dir = match path {
                CgroupsPath::Absolute(p) => mount.join(p),
                CgroupsPath::Relative(p) => match own_path(&own, &ctrls) {
                    Some(rel) => mount.join(rel).join(p),
                    None => continue,
                },
            };
            let missing = missing(&dir, &mount)?;
            targets.push((ctrls, mount, dir, missing));
        }
        let dirs: Vec<PathBuf> = targets.iter().map(|t| t.2.clone()).collect();
        let parents: Vec<PathBuf> = targets.iter().flat_map(|t| t.3.iter().skip(1).cloned()).collect();
        record(&dirs, &parents);
        crate::test_stop_at("cgroups-recorded");
        let mut c = Cgroups { dirs: vec![], kinds: vec![], parents: vec![] };
        for (ctrls, _mount, dir, missing) in targets {
            if let Err(e) = c.make(&dir, &missing, ctrls.split(',').any(|x| x == "cpuset")) {
                for e in c.remove() {
                    eprintln!("nsbox-runtime: cleanup: {}", e.to_wire());
                }
                return Err(e);
            }
            c.kinds.push(ctrls);
            if c.dirs.len() == 1 {
                crate::test_stop_at("cgroups-first-mkdir");
            }
        }
        Ok(c)
    }

    /// mkdir -p of `missing` (deepest first, `dir` itself first of all), remembering each.
    fn make(&mut self, dir: &Path, missing: &[PathBuf], cpuset: bool) -> Result<(), CgroupError> {
        for d in missing.iter().rev() {
            match std::fs::create_dir(d) {
                Ok(()) => {}
                // Made meanwhile by someone else: theirs, so never ours to remove.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d != dir => continue,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(CgroupError::Exists { path: dir.display().to_string() }),
                Err(e) => return Err(CgroupError::io("mkdir", d, &e)),
            }
            if d != dir {
                self.parents.insert(0, d.clone());
            }
            if cpuset {
                inherit_cpuset(d)?;
            }
        }
        self.dirs.push(dir.to_path_buf());
        Ok(())
    }

    pub fn join(&self, pid: i32) -> Result<(), CgroupError> {
        join_dirs(&self.dirs, pid as u32)
    }

    /// Removes every cgroup we made, retrying briefly while the kernel finishes reaping; returns
    /// every failure rather than stopping at the first. A parent made on the way that is still in
    /// use (another container's cgroup below it) stays.
    pub fn remove(&self) -> Vec<CgroupError> {
        let mut errors = Vec::new();
        for dir in self.dirs.iter().rev() {
            let mut last = Ok(());
            for attempt in 0..50 {
                last = std::fs::remove_dir(dir);
                match &last {
                    Ok(()) => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(2 * (attempt + 1)))
                    }
                    Err(_) => break,
                }
            }
            if let Err(e) = last {
                if e.kind() != std::io::ErrorKind::NotFound {
                    errors.push(CgroupError::io("rmdir", dir, &e));
                }
            }
        }
        errors.extend(remove_parents(&self.parents));
        errors
    }
}

/// The directories made on the way to a `cgroupsPath` (deepest first), once the container's own
/// are gone: each is removed unless something else still uses it (another container below it).
pub fn remove_parents<P: AsRef<Path>>(parents: &[P]) -> Vec<CgroupError> {
    let mut errors = Vec::new();
    for dir in parents {
        let dir = dir.as_ref();
        match std::fs::remove_dir(dir) {
            Err(e) if !matches!(Errno::from_raw(e.raw_os_error().unwrap_or(0)), Errno::ENOENT | Errno::EBUSY | Errno::ENOTEMPTY) => {
                errors.push(CgroupError::io("rmdir", dir, &e))
            }
            _ => {}
        }
    }
    errors
}

/// The directories mkdir -p would make below `mount` for `dir` (deepest first: `dir` itself); `dir`
/// must not exist.
fn missing(dir: &Path, mount: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.exists() && at != mount {
        missing.push(at.to_path_buf());
        at = at.parent().unwrap_or(mount);
    }
    if missing.first().map(PathBuf::as_path) != Some(dir) {
        return Err(CgroupError::Exists { path: dir.display().to_string() });
    }
    Ok(missing)
}

/// A new v1 cpuset cgroup has no cpus and mems: no process could join it. Its parent's are copied.
fn inherit_cpuset(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else { return Ok(()) };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let (mine, theirs) = (dir.join(file), parent.join(file));
        let current = std::fs::read_to_string(&mine).unwrap_or_default();
        if !current.trim().is_empty() || !theirs.exists() {
            continue;
        }
        let value = std::fs::read_to_string(&theirs).map_err(|e| CgroupError::io("read", &theirs, &e))?;
        std::fs::write(&mine, value.trim()).map_err(|e| CgroupError::io("write", &mine, &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_paths() {
        assert_eq!(CgroupsPath::parse("/a/b"), Ok(CgroupsPath::Absolute("a/b".into())));
        assert_eq!(CgroupsPath::parse("a//b/"), Ok(CgroupsPath::Relative("a/b".into())));
        assert!(CgroupsPath::parse("machine.slice:libpod:x").unwrap_err().contains("systemd's slice:prefix:name"));
        assert!(CgroupsPath::parse("/a/../b").unwrap_err().contains("is not a cgroup path"));
        assert!(CgroupsPath::parse("/").unwrap_err().contains("root cgroup"));
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nsbox-placement-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// A pure v2 host where our cgroup is a delegated one (a user slice's shape): the container's
    /// cgroup is made below it, recorded first, with the controllers its limits need enabled.
    #[test]
    fn v2_placement_in_a_delegated_cgroup2_shaped_tree() {
        let mount = temp("v2");
        let own = mount.join("user.slice/user-1000.slice/session-1.scope");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join("cgroup.controllers"), "cpu memory pids").unwrap();
        std::fs::write(own.join("cgroup.subtree_control"), "").unwrap();
        let all = vec![(String::new(), mount.clone())];
        let proc_self = "0::/user.slice/user-1000.slice/session-1.scope\n";
        let mut recorded = Vec::new();
        let mut record = |dirs: &[PathBuf], _: &[PathBuf]| {
            assert!(dirs.iter().all(|d| !d.exists()), "recorded before any mkdir");
            recorded = dirs.to_vec();
        };
        let c = Cgroups::create_in(&all, proc_self, "abc", &["pids"], &mut record).unwrap();
        assert_eq!(c.dirs, [own.join("nsbox-abc")]);
        assert_eq!(c.kinds, [String::new()]);
        assert_eq!(recorded, c.dirs);
        assert!(own.join("nsbox-abc").is_dir());
        assert_eq!(std::fs::read_to_string(own.join("cgroup.subtree_control")).unwrap(), "+pids");
        // Again: the id's cgroup exists, which is an error, and nothing is recorded for it.
        let mut none = |_: &[PathBuf], _: &[PathBuf]| panic!("nothing to record");
        assert!(matches!(Cgroups::create_in(&all, proc_self, "abc", &[], &mut none), Err(CgroupError::Exists { .. })));
        // A controller the slice was not given: refused by name, nothing made.
        let Err(e) = Cgroups::create_in(&all, proc_self, "def", &["blkio"], &mut |_: &[PathBuf], _: &[PathBuf]| {}) else { panic!("io was refused") };
        assert!(e.to_string().contains("enable controller io") && e.to_string().contains("not delegated"), "{e}");
        assert!(!own.join("nsbox-def").exists());
        std::fs::remove_dir_all(&mount).unwrap();
    }

    /// Hybrid: memory is a v1 hierarchy's, so nothing is enabled on cgroup2 for it.
    #[test]
    fn hybrid_placement_uses_v1_for_what_v1_holds() {
        let root = temp("hybrid");
        let (mem, uni) = (root.join("memory"), root.join("unified"));
        for d in [&mem, &uni] {
            std::fs::create_dir_all(d.join("a")).unwrap();
        }
        std::fs::write(uni.join("a/cgroup.controllers"), "").unwrap();
        std::fs::write(uni.join("a/cgroup.subtree_control"), "").unwrap();
        let all = vec![("memory".to_string(), mem.clone()), (String::new(), uni.clone())];
        let c = Cgroups::create_in(&all, "4:memory:/a\n0::/a\n", "x", &["memory"], &mut |_: &[PathBuf], _: &[PathBuf]| {}).unwrap();
        assert_eq!(c.dirs, [mem.join("a/nsbox-x"), uni.join("a/nsbox-x")]);
        assert_eq!(std::fs::read_to_string(uni.join("a/cgroup.subtree_control")).unwrap(), "");
        assert!(c.remove().is_empty());
        assert!(!mem.join("a/nsbox-x").exists() && !uni.join("a/nsbox-x").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
