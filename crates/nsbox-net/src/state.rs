//! Persistent state: one JSON file per network under `lib` (default /var/lib/nsbox/networks) and one
//! lease file per network under `run` (default /run/nsbox/leases), each replaced atomically (write a
//! temporary file, fsync, rename). Every change happens under one exclusive flock on `run/lock`, held
//! across the whole operation (allocate, configure links, write rules), so concurrent processes are
//! serialised and a crash leaves either the old or the new file, never half of one.

use std::fs::{self, File};
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::ipam::Ipv4Net;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{op}({}): {errno:?}: {}", path.display(), errno.desc())]
    Io { op: &'static str, path: PathBuf, errno: Errno },
    #[error("read state({}): corrupt: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |e| StateError::Io { op, path: path.into(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
}

type Result<T> = std::result::Result<T, StateError>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    pub name: String,
    pub id: String,
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub mtu: u32,
    pub internal: bool,
    /// The bridge's fixed MAC.
    pub mac: String,
    /// Unix seconds.
    pub created: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(&self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// `-p [HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PortMap {
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// Endpoint id.
    pub id: String,
    /// The container's name or id as the caller gave it.
    pub container: Option<String>,
    pub hostname: Option<String>,
    pub ip: Ipv4Addr,
    pub mac: String,
    pub host_veth: String,
    pub netns: String,
    /// The process whose death frees this lease, with its start time (pids are reused).
    pub owner_pid: i32,
    pub owner_start: u64,
    pub ports: Vec<PortMap>,
    pub created: u64,
    /// Files the caller had attach write in place (hosts, resolv.conf, hostname bound into the
    /// container); removed, with their directory once it is empty, when the lease goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<PathBuf>,
    /// The container's hosts file as attach wrote it (the caller's bound one, or the endpoint's
    /// own): rewritten in place as peers come and go (peers.rs). Absent: never touched again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_path: Option<PathBuf>,
}

impl Lease {
    /// A lease with placeholder fields (no container, owner pid 1, no ports, no files), for tests
    /// and examples that set only what they look at: `Lease { ports, ..Lease::placeholder(id, ip) }`.
    #[doc(hidden)]
    pub fn placeholder(id: impl Into<String>, ip: Ipv4Addr) -> Lease {
        let id = id.into();
        Lease {
            host_veth: format!("nsboxv{}", &id[..id.len().min(9)]),
            id,
            container: None,
            hostname: None,
            ip,
            mac: "02:42:0a:00:00:02".into(),
            netns: "/proc/1/ns/net".into(),
            owner_pid: 1,
            owner_start: 1,
            ports: vec![],
            created: 0,
            files: vec![],
            hosts_path: None,
        }
    }
}

/// Where state lives. `NSBOX_ROOT=R` (or an explicit root) puts networks in `R/networks` and leases
/// in `R/run/leases`; otherwise /var/lib/nsbox and /run/nsbox.
#[derive(Debug, Clone)]
pub struct Store {
    pub lib: PathBuf,
    pub run: PathBuf,
}

/// Held for the length of one operation; dropping it closes the fd, which releases the flock.
pub struct Lock {
    _file: File,
}

impl Store {
    pub fn new(root: Option<&Path>) -> Store {
        let env = std::env::var_os("NSBOX_ROOT").filter(|v| !v.is_empty()).map(PathBuf::from);
        match root.map(Path::to_path_buf).or(env) {
            Some(r) => Store { lib: r.clone(), run: r.join("run") },
            None => Store { lib: "/var/lib/nsbox".into(), run: "/run/nsbox".into() },
        }
    }

    fn networks_dir(&self) -> PathBuf {
        self.lib.join("networks")
    }
    fn leases_dir(&self) -> PathBuf {
        self.run.join("leases")
    }
    pub fn endpoint_dir(&self, id: &str) -> PathBuf {
        self.run.join("endpoints").join(id)
    }

    pub fn lock(&self) -> Result<Lock> {
        for d in [self.networks_dir(), self.leases_dir(), self.run.join("endpoints")] {
            fs::create_dir_all(&d).map_err(io("mkdir", &d))?;
        }
        let path = self.run.join("lock");
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io("open lock", &path))?;
        loop {
            // SAFETY: flock on an fd we own for the duration of the call; no memory is involved.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if r == 0 {
                return Ok(Lock { _file: file });
            }
            let errno = Errno::last();
            if errno != Errno::EINTR {
                return Err(StateError::Io { op: "flock", path, errno });
            }
        }
    }

    pub fn networks(&self) -> Result<Vec<Network>> {
        let dir = self.networks_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io("read dir", &dir)(e)),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e.map_err(io("read dir", &dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = name.strip_suffix(".json") {
                if let Some(net) = self.network(n)? {
                    out.push(net);
                }
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    pub fn network(&self, name: &str) -> Result<Option<Network>> {
        read_json(&self.networks_dir().join(format!("{name}.json")))
    }

    pub fn save_network(&self, n: &Network) -> Result<()> {
        write_json(&self.networks_dir().join(format!("{}.json", n.name)), n, true)
    }

    pub fn delete_network(&self, name: &str) -> Result<()> {
        remove(&self.leases_dir().join(format!("{name}.json")))?;
        remove(&self.networks_dir().join(format!("{name}.json")))
    }

    pub fn leases(&self, network: &str) -> Result<Vec<Lease>> {
        Ok(read_json(&self.leases_dir().join(format!("{network}.json")))?.unwrap_or_default())
    }

    pub fn save_leases(&self, network: &str, leases: &[Lease]) -> Result<()> {
        let path = self.leases_dir().join(format!("{network}.json"));
        if leases.is_empty() {
            return remove(&path);
        }
        write_json(&path, &leases, false)
    }
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("unlink", path)(e)),
        _ => Ok(()),
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| StateError::Corrupt { path: path.into(), detail: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", path)(e)),
    }
}

/// Atomic replace; `durable` also fsyncs the file and its directory (for /var/lib, not tmpfs /run).
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T, durable: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| StateError::Corrupt { path: path.into(), detail: e.to_string() })?;
    let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(&bytes).map_err(io("write", &tmp))?;
    if durable {
        f.sync_all().map_err(io("fsync", &tmp))?;
    }
    drop(f);
    fs::rename(&tmp, path).map_err(io("rename", path))?;
    if durable {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io("fsync", dir))?;
    }
    Ok(())
}

/// Rewrites a file in place: open (creating it if missing), truncate, write. Never renames, because
/// the file may already be bind-mounted into a container, and a bind mount pins the inode.
pub fn write_in_place(path: &Path, text: &str) -> Result<()> {
    let mut f = File::options().write(true).create(true).truncate(true).open(path).map_err(io("open", path))?;
    f.write_all(text.as_bytes()).map_err(io("write", path))
}

/// Writes a new file (hosts, resolv.conf in an endpoint's own directory, made by this attach under
/// the lock): created exclusively, so nothing existing is ever overwritten, and without a temporary
/// file and rename, since nobody knows the path before attach returns it.
pub fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut f = File::options().write(true).create_new(true).open(path).map_err(io("create", path))?;
    f.write_all(text.as_bytes()).map_err(io("write", path))
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
