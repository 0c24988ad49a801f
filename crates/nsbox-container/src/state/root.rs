//! The root's directory operations: resolving it, finding a container by id, name or prefix,
//! reading and atomically writing state.json, reserving ids and names under the root's flock,
//! removing a container's directory, and the events.jsonl log.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::{names, now_rfc3339, Result, State, StateError, NO_SUCH};
use crate::spec::SpecError;

pub struct Root {
    pub dir: PathBuf,
}

/// Holds the root's flock until dropped.
pub struct Lock(#[allow(dead_code)] File);

/// uid 0 of a user namespace that a rootless engine made (rootless podman calls us so): /run is not
/// ours there, so the state goes under $XDG_RUNTIME_DIR as for any unprivileged caller. runc's rule:
/// in a user namespace other than the initial one, unless $USER says root.
fn rootless_root() -> bool {
    let initial = std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(true);
    !initial && std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|x| !x.is_empty()) && std::env::var("USER").as_deref() != Ok("root")
}

impl Root {
    pub fn resolve(flag: Option<&Path>) -> Root {
        let dir = match (flag, std::env::var_os("NSBOX_ROOT")) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(p)) if !p.is_empty() => PathBuf::from(p),
            _ if nix::unistd::geteuid().is_root() && !rootless_root() => PathBuf::from("/run/nsbox"),
            _ => match std::env::var_os("XDG_RUNTIME_DIR") {
                Some(x) if !x.is_empty() => PathBuf::from(x).join("nsbox"),
                _ => std::env::temp_dir().join(format!("nsbox-{}", nix::unistd::geteuid())),
            },
        };
        Root { dir }
    }

    pub fn ensure(&self) -> Result<()> {
        self.check_tmp_fallback()?;
        fs::DirBuilder::new().recursive(true).mode(0o711).create(self.dir.join("names")).map_err(|e| StateError::io("mkdir", &self.dir, &e))
    }

    /// Without XDG_RUNTIME_DIR a rootless caller's root is `TMPDIR/nsbox-UID`, a name anyone could
    /// have taken first: it is made 0700, and an existing one is used only if it is a directory (not
    /// a symlink) of the caller's that no one else may write to (as podman's /tmp/podman-run-UID).
    fn check_tmp_fallback(&self) -> Result<()> {
        let euid = nix::unistd::geteuid();
        if euid.is_root() || self.dir != std::env::temp_dir().join(format!("nsbox-{euid}")) {
            return Ok(());
        }
        match fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(StateError::io("mkdir", &self.dir, &e)),
            _ => {}
        }
        use std::os::unix::fs::MetadataExt;
        let m = fs::symlink_metadata(&self.dir).map_err(|e| StateError::io("lstat", &self.dir, &e))?;
        let why = if !m.is_dir() {
            "it is not a directory (a symlink?)".to_string()
        } else if m.uid() != euid.as_raw() {
            format!("it belongs to uid {}, not {euid}", m.uid())
        } else if m.mode() & 0o022 != 0 {
            format!("its mode {:o} lets others write to it", m.mode() & 0o777)
        } else {
            return Ok(());
        };
        Err(StateError::rule("ERR_UNSAFE_STATE_DIR", "check state directory", self.dir.display(), format!("{why}; refusing to keep state there (set XDG_RUNTIME_DIR to a directory of your own)")))
    }

    pub fn lock(&self) -> Result<Lock> {
        self.ensure()?;
        let path = self.dir.join(".lock");
        let f = OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).custom_flags(libc::O_CLOEXEC).open(&path)
            .map_err(|e| StateError::io("open", &path, &e))?;
        loop {
            // SAFETY: flock on a descriptor we own; it is released when the file is closed.
            match Errno::result(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }) {
                Ok(_) => return Ok(Lock(f)),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(StateError::Io { op: "flock", path: path.display().to_string(), errno }),
            }
        }
    }

    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn name_file(&self, name: &str) -> PathBuf {
        self.dir.join("names").join(name)
    }

    /// Every container directory (ids), in no particular order.
    pub fn ids(&self) -> Vec<String> {
        let Ok(rd) = fs::read_dir(&self.dir) else { return vec![] };
        rd.filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            // The network layer keeps its state (leases, endpoints, per-container /etc files) in
            // the same root; those folders are not containers.
            .filter(|n| !matches!(n.as_str(), "names" | "leases" | "endpoints" | "containers" | "networks" | "run") && !n.starts_with('.'))
            .collect()
    }

    /// Resolves a full id, a name or a unique id prefix to an id.
    pub fn find(&self, reference: &str) -> Result<String> {
        let not_found = || StateError::rule(NO_SUCH, "find container", "", format!("no such container: {reference}"));
        if reference.is_empty() || reference.contains('/') || reference.starts_with('.') {
            return Err(not_found());
        }
        if self.dir_of(reference).join("state.json").exists() || self.dir_of(reference).is_dir() && reference != "names" {
            return Ok(reference.to_string());
        }
        if let Ok(id) = fs::read_to_string(self.name_file(reference)) {
            if self.dir_of(id.trim()).is_dir() {
                return Ok(id.trim().to_string());
            }
        }
        let matches: Vec<String> = self.ids().into_iter().filter(|id| id.starts_with(reference)).collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().unwrap()),
            0 => Err(not_found()),
            n => Err(StateError::rule("ERR_AMBIGUOUS_ID", "find container", "", format!("{reference:?} matches {n} containers: give more of the id"))),
        }
    }

    /// The container's state. If it says the container is live but its monitor is gone, it is read
    /// once more: the monitor records the exit and then ends, and a first read may have come just
    /// before the record and the look at the monitor just after its end (that is `exited`, not `dead`).
    pub fn read(&self, id: &str) -> Result<State> {
        let st = self.read_once(id)?;
        if st.live_status() == "dead" {
            return self.read_once(id);
        }
        Ok(st)
    }

    fn read_once(&self, id: &str) -> Result<State> {
        let path = self.dir_of(id).join("state.json");
        let text = fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StateError::rule(NO_SUCH, "read state", path.display(), format!("no state for container {id} (it is being created or removed)")),
            _ => StateError::io("read state", &path, &e),
        })?;
        serde_json::from_str(&text).map_err(|e| StateError::rule("ERR_STATE", "parse state", path.display(), e.to_string()))
    }

    /// Writes state.json through a temporary file and rename(2), so readers see the old or the new
    /// state, never a torn one. Owner-only, as everything in the container's directory: the
    /// command line may carry secrets.
    pub fn write(&self, st: &State) -> Result<()> {
        let dir = self.dir_of(&st.id);
        let tmp = dir.join(format!(".state.json.{}", std::process::id()));
        let body = serde_json::to_vec_pretty(st).map_err(|e| StateError::rule("ERR_STATE", "encode state", "", e.to_string()))?;
        let write = || -> std::io::Result<()> {
            let mut f = create_private(&tmp, false)?;
            f.write_all(&body)?;
            fs::rename(&tmp, dir.join("state.json"))
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            StateError::io("write state", &dir.join("state.json"), &e)
        })
    }

    /// Writes the container's config.json (its environment, passwords included): created 0600
    /// with the file, never readable by anyone else even for a moment.
    pub fn write_config(&self, id: &str, body: &[u8]) -> Result<()> {
        let path = self.dir_of(id).join("config.json");
        create_private(&path, true).and_then(|mut f| f.write_all(body)).map_err(|e| StateError::io("write", &path, &e))
    }

    /// Creates the container's directory (0700: see [`private_dir`]) and reserves its name (a
    /// generated one when `name` is None), both under the root's lock. A name whose container directory is gone is stale and
    /// is taken over.
    pub fn reserve(&self, id: &str, name: Option<&str>) -> Result<String> {
        let _lock = self.lock()?;
        let dir = self.dir_of(id);
        if let Some(n) = name {
            validate_name(n)?;
        }
        match private_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StateError::rule("ERR_NAME_IN_USE", "create container", dir.display(), format!("a container with id {id} already exists")))
            }
            Err(e) => return Err(StateError::io("mkdir", &dir, &e)),
        }
        let result = match name {
            Some(n) => self.claim_name(n, id).and_then(|ok| {
                if ok { Ok(n.to_string()) } else {
                    let owner = fs::read_to_string(self.name_file(n)).unwrap_or_default();
                    Err(StateError::rule("ERR_NAME_IN_USE", "create container", "", format!(
                        "the container name {n:?} is already in use by container {}: remove it or choose another name", owner.trim())))
                }
            }),
            None => (0..64)
                .map(|i| names::generate(i))
                .find_map(|n| match self.claim_name(&n, id) { Ok(true) => Some(Ok(n)), Ok(false) => None, Err(e) => Some(Err(e)) })
                .unwrap_or_else(|| Err(StateError::rule("ERR_NAME_IN_USE", "generate name", "", "no free name found"))),
        };
        if result.is_err() {
            let _ = fs::remove_dir(&dir);
        }
        result
    }

    /// O_EXCL create of names/NAME; false when a live container holds it. Caller holds the lock.
    fn claim_name(&self, name: &str, id: &str) -> Result<bool> {
        let path = self.name_file(name);
        for _ in 0..2 {
            match OpenOptions::new().create_new(true).write(true).mode(0o644).open(&path) {
                Ok(mut f) => {
                    f.write_all(id.as_bytes()).map_err(|e| StateError::io("write", &path, &e))?;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(&path).unwrap_or_default();
                    if self.dir_of(owner.trim()).is_dir() {
                        return Ok(false);
                    }
                    let _ = fs::remove_file(&path);
                }
                Err(e) => return Err(StateError::io("create", &path, &e)),
            }
        }
        Ok(false)
    }

    /// Removes the container's directory and its name (if the name still points at it).
    pub fn remove(&self, id: &str, name: &str) -> Vec<StateError> {
        let mut errors = Vec::new();
        let _lock = match self.lock() {
            Ok(l) => Some(l),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if !name.is_empty() && fs::read_to_string(self.name_file(name)).map(|o| o.trim() == id).unwrap_or(false) {
            if let Err(e) = fs::remove_file(self.name_file(name)) {
                errors.push(StateError::io("unlink", &self.name_file(name), &e));
            }
        }
        let dir = self.dir_of(id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => errors.push(StateError::io("remove", &dir, &e)),
        }
        errors
    }

    /// Appends one line to events.jsonl (a single write with O_APPEND, so lines never interleave).
    pub fn event(&self, kind: &str, st: &State) {
        self.event_with(kind, st, &[]);
    }

    /// As [`Root::event`], with fields of its own (`kill`'s signal).
    pub fn event_with(&self, kind: &str, st: &State, extra: &[(&str, serde_json::Value)]) {
        let mut line = serde_json::json!({ "type": kind, "time": now_rfc3339(), "id": st.id, "name": st.name });
        for (k, v) in extra {
            line[*k] = v.clone();
        }
        if kind == "exit" {
            line["exitCode"] = serde_json::json!(st.exit_code);
            line["signal"] = serde_json::json!(st.exit_signal);
            if st.oom_killed {
                line["oomKilled"] = serde_json::json!(true);
            }
            // With --rm the state goes with the directory: this line is what is left of them.
            if !st.errors.is_empty() {
                line["errors"] = serde_json::json!(st.errors);
            }
        }
        let mut text = line.to_string();
        text.push('\n');
        // Owner-only: error messages in exit lines may quote what the container was given.
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).mode(0o600).custom_flags(libc::O_CLOEXEC).open(self.dir.join("events.jsonl")) {
            let _ = f.write_all(text.as_bytes());
        }
    }
}

/// A new file only its owner can read: the mode is given at open (O_CREAT) and set exactly on the
/// descriptor before anything is written, so no umask makes it wider or unreadable to the owner.
/// A symlink planted at `path` is not followed.
pub fn create_private(path: &Path, exclusive: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).mode(0o600).custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW);
    if exclusive { o.create_new(true) } else { o.create(true).truncate(true) };
    let f = o.open(path)?;
    nix::sys::stat::fchmod(&f, nix::sys::stat::Mode::from_bits_truncate(0o600)).map_err(std::io::Error::from)?;
    Ok(f)
}

/// A container's directory: 0700. It holds config.json, state.json, the log and the attach
/// socket, and its only readers are its owner (the TS library, the TUI, `nsbox` as the same
/// user) and root (`nsbox ps`); docker keeps the same things 0700/0600 under /var/lib/docker.
/// fchmod on the new, still empty directory makes the mode exact whatever the umask.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(dir)?;
    let fd = nix::fcntl::open(dir, nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())?;
    nix::sys::stat::fchmod(&fd, nix::sys::stat::Mode::from_bits_truncate(0o700)).map_err(std::io::Error::from)
}

/// docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_name(name: &str) -> std::result::Result<(), SpecError> {
    let mut chars = name.chars();
    let ok = name.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok { Ok(()) } else { Err(SpecError::new("name", format!("{name:?} is not a valid name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128"))) }
}
