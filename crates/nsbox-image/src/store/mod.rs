//! The content-addressed store. Layout under the root (/var/lib/nsbox as root, else
//! $XDG_DATA_HOME/nsbox, default ~/.local/share/nsbox; NSBOX_STORE or [`Store::open`]'s argument first):
//!
//! ```text
//! blobs/sha256/<hex>     manifests, configs, layer blobs: renamed in only after their bytes hashed to <hex>
//! layers/<diffid hex>/   an unpacked layer (overlayfs lowerdir), renamed in only once its diff id matched
//! diffids/<blob hex>     the diff id a layer blob unpacked to (so the same blob is unpacked once)
//! index.json             names → manifest digest (tmp + rename, under index.lock)
//! containers/<id>/       a container's writable layer (its root.path): upper/, work/, nsbox-layer (id, image)
//! removing/<id>.<pid>    a removed container's writable layer, renamed here and deleted by a detached
//!                        remover that flocks it (nsbox-container rootfs/layer.rs says why)
//! tmp/                   work in progress, each entry flocked by the process writing it (made under
//!                        tmp.lock shared; the clean-up at open scans under tmp.lock exclusive)
//! sources/<hex>          `registry/repository` lines where the blob is known to exist (for push mounts)
//! locks/<hex>            one flock per blob, so two pulls or loads of it store and unpack it once
//! gc.lock                shared by every open Store, exclusive while rmi/prune delete
//! ```
//! A killed pull or load leaves only tmp/ entries nobody holds a lock on, a killed remover a removing/
//! entry: the next open removes them.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::digest::{Digest, DigestError};
use crate::reference::{Reference, ReferenceError};
use crate::unpack::{Owners, UnpackError};

mod archive;
mod blobs;
mod containers;
mod gc;
pub mod helper;
pub mod idmap;
mod images;
mod index;
mod layers;
mod save;
mod sink;
mod sources;
mod volumes;

pub use archive::Loaded;
pub use containers::ContainerLayer;
pub use gc::Removed;
pub use images::{Descriptor, ImageInfo, Manifest};
pub use save::ArchiveFormat;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op}({path}): {errno:?}: {}", errno.desc())]
    Io { op: &'static str, path: String, errno: Errno },
    #[error("{0}")]
    Digest(#[from] DigestError),
    #[error("{0}")]
    Unpack(#[from] UnpackError),
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    #[error("layer {layer}: {err}")]
    Layer { layer: Digest, err: UnpackError },
    #[error("no such image {reference:?} in the store {store} (nsbox pull {reference}, or nsbox load -i FILE)")]
    NotFound { reference: String, store: String },
    #[error("image {reference:?} is used by container(s) {containers} (remove them first, or force)")]
    InUse { reference: String, containers: String },
    #[error("{what}: {msg}")]
    Invalid { what: String, msg: String },
    #[error("{what}: {msg}")]
    Rootless { what: String, msg: String },
    /// What `nsbox-runtime unpack-layer`/`store-remove` reported (rootless with subordinate ids).
    #[error("{msg}")]
    Helper { code: String, errno: Option<i32>, msg: String },
}

impl StoreError {
    pub fn io(op: &'static str, path: impl AsRef<Path>, e: &io::Error) -> StoreError {
        StoreError::Io { op, path: path.as_ref().display().to_string(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
    }

    pub fn invalid(what: impl Into<String>, msg: impl Into<String>) -> StoreError {
        StoreError::Invalid { what: what.into(), msg: msg.into() }
    }

    /// The stable code callers branch on (`err.code` in JS).
    pub fn code(&self) -> String {
        match self {
            StoreError::Io { errno, .. } => format!("{errno:?}"),
            StoreError::Digest(DigestError::Mismatch { .. }) => "ERR_DIGEST_MISMATCH".into(),
            StoreError::Digest(DigestError::Parse(_)) => "ERR_INVALID_IMAGE".into(),
            StoreError::Unpack(UnpackError::Refused { .. }) | StoreError::Layer { err: UnpackError::Refused { .. }, .. } => "ERR_LAYER_REFUSED".into(),
            StoreError::Unpack(u) | StoreError::Layer { err: u, .. } => u.errno().map(|e| format!("{e:?}")).unwrap_or_else(|| "ERR_INVALID_IMAGE".into()),
            StoreError::NotFound { .. } => "ERR_IMAGE_NOT_FOUND".into(),
            StoreError::Reference(_) => "ERR_INVALID_REFERENCE".into(),
            StoreError::InUse { .. } => "ERR_IMAGE_IN_USE".into(),
            StoreError::Invalid { .. } => "ERR_INVALID_IMAGE".into(),
            StoreError::Rootless { .. } => "ERR_ROOTLESS_IMAGE".into(),
            StoreError::Helper { code, .. } => code.clone(),
        }
    }

    pub fn errno(&self) -> Option<i32> {
        match self {
            StoreError::Io { errno, .. } => Some(*errno as i32),
            StoreError::Unpack(u) | StoreError::Layer { err: u, .. } => u.errno().map(|e| e as i32),
            StoreError::Helper { errno, .. } => *errno,
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The name the index keeps for a user's reference: docker's normalized form (reference.rs),
/// `alpine` → `docker.io/library/alpine:latest`.
pub fn normalize(reference: &str) -> Result<String> {
    Ok(Reference::parse(reference)?.to_string())
}

pub struct Store {
    root: PathBuf,
    /// How layers are unpacked here: as root with their owners, or rootless (unpack/mod.rs).
    owners: Owners,
    /// Rootless: the maps fixed when the store was made (idmap.rs).
    maps: Option<idmap::IdMaps>,
    /// Held shared while this Store lives; rmi/prune take it exclusive on the same descriptor.
    gc_lock: File,
}

/// Where the store lives when the caller names none.
pub fn default_root() -> PathBuf {
    if let Some(p) = std::env::var_os("NSBOX_STORE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/nsbox");
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".local/share"));
    data.join("nsbox")
}

pub(crate) fn mkdirs(p: &Path, mode: u32) -> Result<()> {
    fs::DirBuilder::new().recursive(true).mode(mode).create(p).map_err(|e| StoreError::io("mkdir", p, &e))
}

pub(crate) fn flock(f: &File, path: &Path, op: libc::c_int) -> Result<bool> {
    loop {
        // SAFETY: flock on a descriptor we own; released when the file is closed.
        match Errno::result(unsafe { libc::flock(f.as_raw_fd(), op) }) {
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(Errno::EWOULDBLOCK) if op & libc::LOCK_NB != 0 => return Ok(false),
            Err(errno) => return Err(StoreError::Io { op: "flock", path: path.display().to_string(), errno }),
        }
    }
}

pub(crate) fn lock_file(path: &Path, op: libc::c_int) -> Result<File> {
    let f = OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).custom_flags(libc::O_CLOEXEC).open(path)
        .map_err(|e| StoreError::io("open", path, &e))?;
    flock(&f, path, op)?;
    Ok(f)
}

impl Store {
    /// Opens (creating) the store at `root` (None: [`default_root`]) and removes what killed
    /// pulls and loads left in tmp/.
    pub fn open(root: Option<&Path>) -> Result<Store> {
        let root = root.map(Path::to_path_buf).unwrap_or_else(default_root);
        for d in ["blobs/sha256", "layers", "diffids", "tmp", "locks", "containers", "removing"] {
            mkdirs(&root.join(d), 0o711)?;
        }
        let gc_lock = lock_file(&root.join("gc.lock"), libc::LOCK_SH)?;
        let maps = if nix::unistd::geteuid().is_root() { None } else { Some(idmap::recorded(&root)?) };
        let owners = match &maps {
            None => Owners::Keep,
            Some(m) if m.single() => Owners::Caller,
            Some(_) => Owners::Mapped,
        };
        let store = Store { root, owners, maps, gc_lock };
        store.clean_tmp();
        store.clean_removing();
        Ok(store)
    }

    /// For `nsbox-runtime unpack-layer`: the store of `root` opened by root of the user namespace
    /// made with the store's own maps; it unpacks with the tar's owners (ids inside) and leaves
    /// tmp/ to the caller's open.
    pub fn open_in_userns(root: &Path) -> Result<Store> {
        // Not flocked: the caller's open holds it shared for as long as we run.
        let p = root.join("gc.lock");
        let gc_lock = OpenOptions::new().read(true).custom_flags(libc::O_CLOEXEC).open(&p).map_err(|e| StoreError::io("open", &p, &e))?;
        Ok(Store { root: root.to_path_buf(), owners: Owners::Mapped, maps: None, gc_lock })
    }

    /// A rootless store's maps (None as root): a container on one of its images runs with them.
    pub fn id_maps(&self) -> Option<&idmap::IdMaps> {
        self.maps.as_ref()
    }

    /// Removes a directory tree of the store; files of subordinate ids go through the runtime.
    pub(crate) fn remove_dir(&self, p: &Path) -> Result<()> {
        if self.owners == Owners::Mapped && !nix::unistd::geteuid().is_root() {
            return self.helper_remove(p);
        }
        match remove_tree(p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::io("remove", p, &e)),
            _ => Ok(()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Rootless: layers carry `user.overlay.*` xattrs, so the overlay is mounted with `userxattr`.
    pub fn rootless(&self) -> bool {
        self.owners.rootless()
    }

    pub(crate) fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    pub(crate) fn layer_path(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(diff_id.hex())
    }

    /// A fresh entry under tmp/ (a file or a directory), flocked until the guard is dropped.
    pub(crate) fn tmp(&self, kind: &str, dir: bool) -> Result<Tmp> {
        // Shared while the entry exists but is not yet flocked: clean_tmp (exclusive) cannot take it
        // for a killed process's leftover in that window.
        let _making = lock_file(&self.root.join("tmp.lock"), libc::LOCK_SH)?;
        let name = format!("{kind}-{}-{:08x}", std::process::id(), rand32());
        let path = self.root.join("tmp").join(name);
        let file = if dir {
            fs::DirBuilder::new().mode(0o755).create(&path).map_err(|e| StoreError::io("mkdir", &path, &e))?;
            File::open(&path).map_err(|e| StoreError::io("open", &path, &e))?
        } else {
            OpenOptions::new().create_new(true).read(true).write(true).mode(0o644).custom_flags(libc::O_CLOEXEC).open(&path)
                .map_err(|e| StoreError::io("create", &path, &e))?
        };
        flock(&file, &path, libc::LOCK_EX)?;
        Ok(Tmp { path, file, keep: false })
    }

    /// Entries of tmp/ no living process holds: a killed pull's or load's, never trusted.
    fn clean_tmp(&self) {
        let Ok(_cleaning) = lock_file(&self.root.join("tmp.lock"), libc::LOCK_EX) else { return };
        let dir = self.root.join("tmp");
        let Ok(entries) = fs::read_dir(&dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(f) = File::open(&p) else { continue };
            if matches!(flock(&f, &p, libc::LOCK_EX | libc::LOCK_NB), Ok(true)) {
                drop(f);
                let _ = if p.is_dir() { self.remove_dir(&p) } else { fs::remove_file(&p).map_err(|e| StoreError::io("remove", &p, &e)) };
            }
        }
    }
}

impl Store {
    /// Writable layers whose background remover died (no flock held on them): removed now.
    fn clean_removing(&self) {
        let Ok(entries) = fs::read_dir(self.root.join("removing")) else { return };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(f) = File::open(&p) else { continue };
            if matches!(flock(&f, &p, libc::LOCK_EX | libc::LOCK_NB), Ok(true)) {
                let _ = self.remove_dir(&p);
            }
        }
    }
}

pub(crate) struct Tmp {
    pub path: PathBuf,
    pub file: File,
    pub keep: bool,
}

impl Drop for Tmp {
    fn drop(&mut self) {
        if !self.keep {
            let _ = if self.path.is_dir() { remove_tree(&self.path) } else { fs::remove_file(&self.path) };
        }
    }
}

/// Removes a directory tree. Root's DAC override removes anything; a user owns every entry of a
/// rootless layer but may not empty a directory without write permission (`dr-xr-xr-x` is common in
/// images), so those directories are made writable on the way (never following a symlink).
pub(crate) fn remove_tree(p: &Path) -> io::Result<()> {
    if nix::unistd::geteuid().is_root() {
        return fs::remove_dir_all(p);
    }
    match fs::remove_dir_all(p) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(p)?;
            fs::remove_dir_all(p)
        }
        r => r,
    }
}

fn make_writable(p: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let st = fs::symlink_metadata(p)?;
    if !st.is_dir() {
        return Ok(());
    }
    if st.permissions().mode() & 0o700 != 0o700 {
        fs::set_permissions(p, fs::Permissions::from_mode(st.permissions().mode() | 0o700))?;
    }
    for e in fs::read_dir(p)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            make_writable(&e.path())?;
        }
    }
    Ok(())
}

fn rand32() -> u32 {
    let mut b = [0u8; 4];
    if File::open("/dev/urandom").and_then(|mut f| io::Read::read_exact(&mut f, &mut b)).is_err() {
        return std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    }
    u32::from_ne_bytes(b)
}
