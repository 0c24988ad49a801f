//! A layer tar (plain, gzip or zstd) → a directory overlayfs can stack as a lowerdir. Every entry
//! is created through descriptors resolved beneath the layer directory without following any
//! symlink (fsops.rs), so `..`, absolute names and names through symlinks — what a hostile layer
//! uses to reach the host — are refused, naming the entry. OCI whiteouts become overlayfs's: `.wh.NAME`
//! a 0/0 character device NAME, `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on its directory.
//! The diff id (sha256 of the uncompressed tar) is computed while the bytes stream through.
//!
//! Rootless ([`Owners::Caller`], [`Owners::Mapped`]) the same checks hold unchanged; what differs is
//! what the caller may do: device nodes are skipped (as podman does), xattrs the caller cannot set are
//! dropped, each with a note, and opaque directories get `user.overlay.opaque` (overlayfs mounted
//! with `userxattr` in a user namespace reads that; `trusted.*` needs the host's CAP_SYS_ADMIN).

use std::io::{self, Read};
use std::path::Path;

use nix::errno::Errno;

use crate::digest::{Digest, HashingReader};

mod fsops;

use fsops::{Entry, Kind, LayerDir};

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("unpack entry {entry:?}: {op}: {}: {}", errno_name(*errno), errno.desc())]
    Sys { entry: String, op: &'static str, errno: Errno },
    #[error("unpack entry {entry:?}: refused: {why}")]
    Refused { entry: String, why: String },
    #[error("unpack: read layer: {0}")]
    Read(#[source] io::Error),
    #[error("unpack: unsupported layer media type {0:?} (expected a tar, tar+gzip or tar+zstd layer)")]
    MediaType(String),
    #[error("unpack: open {path}: {}: {}", errno_name(*errno), errno.desc())]
    Open { path: String, errno: Errno },
}

pub(crate) fn errno_name(e: Errno) -> String {
    format!("{e:?}")
}

impl UnpackError {
    pub fn errno(&self) -> Option<Errno> {
        match self {
            UnpackError::Sys { errno, .. } | UnpackError::Open { errno, .. } => Some(*errno),
            UnpackError::Read(e) => e.raw_os_error().map(Errno::from_raw),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, UnpackError>;

/// Who owns the files a layer unpacks to, and so what the unpacking may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// Root: the tar's owners, device nodes, every xattr; opaque is `trusted.overlay.opaque`.
    Keep,
    /// Rootless with the user's one id: every file the user's (root inside the container), as
    /// podman's ignore_chown_errors; no device nodes; `user.overlay.opaque`.
    Caller,
    /// Rootless inside a user namespace with subordinate ranges (nsbox-runtime's `unpack-layer`):
    /// the tar's owners as ids inside it; an id outside the ranges is refused; no device nodes.
    Mapped,
}

impl Owners {
    pub fn rootless(self) -> bool {
        self != Owners::Keep
    }

    /// The xattr overlayfs reads for an opaque directory in a layer unpacked this way.
    pub fn opaque_xattr(self) -> &'static str {
        if self.rootless() { "user.overlay.opaque" } else { "trusted.overlay.opaque" }
    }
}

/// How a layer blob is compressed, from its media type (OCI's and Docker's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn from_media_type(m: &str) -> Result<Compression> {
        let base = m.split(';').next().unwrap_or("").trim();
        Ok(match base {
            "application/vnd.oci.image.layer.v1.tar" | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Compression::None,
            "application/vnd.oci.image.layer.v1.tar+gzip" | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip" | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Compression::Gzip,
            "application/vnd.oci.image.layer.v1.tar+zstd" | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => Compression::Zstd,
            other => return Err(UnpackError::MediaType(other.to_owned())),
        })
    }

    /// For archives without media types (docker-archive): by the magic bytes.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Unpacks `body` into `dest` (an existing empty directory) and returns the diff id and the notes
/// of what rootless unpacking left out. On error the caller discards `dest`: nothing outside it was touched.
pub fn unpack(body: &mut dyn Read, compression: Compression, dest: &Path, owners: Owners) -> Result<(Digest, Vec<String>)> {
    let raw: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(body),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(body)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(body).map_err(UnpackError::Read)?),
    };
    let mut hashing = HashingReader::new(raw);
    let layer = LayerDir::open(dest, owners)?;
    {
        let mut archive = tar::Archive::new(&mut hashing);
        for entry in archive.entries().map_err(UnpackError::Read)? {
            let mut entry = entry.map_err(UnpackError::Read)?;
            apply(&layer, &mut entry)?;
        }
    }
    // The tar's end blocks and any padding after them belong to the diff id too.
    io::copy(&mut hashing, &mut io::sink()).map_err(UnpackError::Read)?;
    let notes = layer.finish()?;
    Ok((hashing.finish(), notes))
}

fn apply(layer: &LayerDir, entry: &mut tar::Entry<'_, &mut HashingReader<Box<dyn Read + '_>>>) -> Result<()> {
    let raw_path = entry.path_bytes().into_owned();
    let name = String::from_utf8_lossy(&raw_path).into_owned();
    let header = entry.header();
    let kind = match header.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
        tar::EntryType::Directory => Kind::Dir,
        tar::EntryType::Symlink => Kind::Symlink(link_name(entry, &name)?),
        tar::EntryType::Link => Kind::Hardlink(link_name(entry, &name)?),
        tar::EntryType::Char => Kind::Char(dev(header.device_major(), &name)?, dev(header.device_minor(), &name)?),
        tar::EntryType::Block => Kind::Block(dev(header.device_major(), &name)?, dev(header.device_minor(), &name)?),
        tar::EntryType::Fifo => Kind::Fifo,
        // Metadata entries the tar crate already folded into the next entry.
        tar::EntryType::XGlobalHeader | tar::EntryType::XHeader | tar::EntryType::GNULongName | tar::EntryType::GNULongLink => return Ok(()),
        other => return Err(UnpackError::Refused { entry: name, why: format!("unsupported tar entry type {other:?}") }),
    };
    let num = |r: io::Result<u64>| r.map_err(UnpackError::Read);
    let mode = num(header.mode().map(u64::from))? as u32 & 0o7777;
    let uid = num(header.uid())?;
    let gid = num(header.gid())?;
    let mtime = num(header.mtime())? as i64;
    let mut xattrs = Vec::new();
    if let Some(exts) = entry.pax_extensions().map_err(UnpackError::Read)? {
        for ext in exts {
            let ext = ext.map_err(UnpackError::Read)?;
            let Ok(key) = ext.key() else { continue };
            if let Some(attr) = key.strip_prefix("SCHILY.xattr.") {
                xattrs.push((attr.to_owned(), ext.value_bytes().to_vec()));
            }
        }
    }
    let ids = |v: u64| u32::try_from(v).map_err(|_| UnpackError::Refused { entry: name.clone(), why: format!("id {v} does not fit in 32 bits") });
    let e = Entry { name: name.clone(), kind, mode, uid: ids(uid)?, gid: ids(gid)?, mtime, xattrs };
    layer.create(&e, entry)
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>, name: &str) -> Result<String> {
    match entry.link_name_bytes() {
        Some(l) if !l.is_empty() => Ok(String::from_utf8_lossy(&l).into_owned()),
        _ => Err(UnpackError::Refused { entry: name.to_owned(), why: "link without a target".into() }),
    }
}

fn dev(v: io::Result<Option<u32>>, name: &str) -> Result<u32> {
    v.map_err(UnpackError::Read)?.ok_or_else(|| UnpackError::Refused { entry: name.to_owned(), why: "device entry without numbers".into() })
}
