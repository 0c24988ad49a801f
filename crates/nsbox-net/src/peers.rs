//! Peers' /etc/hosts: on a user-defined network every container's hosts file lists the others, and
//! it stays true while they come and go. Attach, detach and the reclaim of a dead owner's lease (all
//! under the store's flock) rewrite the recorded hosts file of every live lease on that network.
//! The hosts-file way, as docker's links did, rather than an embedded DNS server (docker) or
//! aardvark-dns (podman): no process per network, nothing listening inside the container.
//!
//! A peer's file is rewritten in place (a bind mount pins the inode: never rename) and in one
//! `pwrite` at offset 0, padded with newlines to the old length when it shrinks, then truncated: a
//! reader sees the whole old file, the whole new one (maybe followed by blank lines, which resolvers
//! skip), or, only while the kernel carries out that one write, a mix of both, or the new text cut at
//! the old length (the size grows after the copy): reads of a regular file do not wait for writes.
//! Lines the container added itself are not kept.

use std::fs::File;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::files;
use crate::network::DEFAULT_NETWORK;
use crate::state::Lease;
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum PeersError {
    #[error("rewrite peer hosts: {op}({}): {}: {}", path.display(), nsbox_core::error::errno_name(*errno), errno.desc())]
    Io { op: &'static str, path: PathBuf, errno: Errno },
}

impl PeersError {
    pub fn errno(&self) -> Errno {
        match self {
            PeersError::Io { errno, .. } => *errno,
        }
    }
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PeersError + 'a {
    move |e| PeersError::Io { op, path: path.into(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
}

/// Padding a shrinking file to its old length costs a buffer of that length; past this, write and
/// truncate (a reader in between may then see the tail of the old file after the new one).
const MAX_PAD: u64 = 1 << 20;

/// The names a container answers to: its hostname, then its name (as attach has always written them).
pub fn names(l: &Lease) -> Vec<String> {
    l.hostname.iter().chain(l.container.iter()).cloned().collect()
}

/// The whole hosts file of `own` on network `net`: its own line, then every other lease of `all`
/// (none on the default network: docker lists no peers there).
pub fn hosts_text(net: &str, own: &Lease, all: &[Lease]) -> String {
    let peers: Vec<(Ipv4Addr, Vec<String>)> = if net == DEFAULT_NETWORK {
        vec![]
    } else {
        all.iter().filter(|p| p.id != own.id).map(|p| (p.ip, names(p))).collect()
    };
    files::hosts(own.ip, &names(own), &peers)
}

/// Rewrites the hosts file of every lease of `leases` (the network's live ones) that records one,
/// except `except` (the endpoint whose file attach has just written); each lists all of `leases`.
/// Goes on after a failure and returns them all: a peer's file must never fail its neighbour's
/// attach or detach.
pub fn refresh(net: &str, leases: &[Lease], except: Option<&str>) -> Vec<PeersError> {
    if net == DEFAULT_NETWORK {
        return vec![];
    }
    // Each lease's line once (as hosts_text writes it), then each file is copies: a network of N
    // peers costs N rewrites of N lines, not N² formatted lines.
    let lines: Vec<String> = leases.iter().map(|l| files::hosts_line(l.ip, &names(l)).unwrap_or_default()).collect();
    let mut errs = Vec::new();
    for (i, l) in leases.iter().enumerate().filter(|(_, l)| Some(l.id.as_str()) != except) {
        let Some(p) = &l.hosts_path else { continue };
        let mut text = String::with_capacity(files::LOCALHOST.len() + lines.iter().map(String::len).sum::<usize>());
        text.push_str(files::LOCALHOST);
        text.push_str(&lines[i]);
        for (j, line) in lines.iter().enumerate() {
            if j != i && leases[j].id != l.id {
                text.push_str(line);
            }
        }
        if let Err(e) = rewrite(p, &text) {
            errs.push(e);
        }
    }
    errs
}

/// [`refresh`] for detach and reclaim, whose callers have no place for warnings: printed on stderr.
/// ENOENT is not: that peer is ending too (its files go before its lease does).
pub fn refresh_and_warn(net: &str, leases: &[Lease]) {
    let live: Vec<Lease> = leases.iter().filter(|l| sys::owner_alive(l.owner_pid, l.owner_start)).cloned().collect();
    for e in refresh(net, &live, None) {
        if e.errno() != Errno::ENOENT {
            eprintln!("nsbox-net: warning: {e}");
        }
    }
}

/// Rewrites an existing regular file in place (see the module's comment). Never creates one (a
/// missing file is a container's that has ended), never follows a symlink, never blocks on a FIFO.
pub fn rewrite(path: &Path, text: &str) -> Result<(), PeersError> {
    let f = File::options()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(io("open", path))?;
    let meta = f.metadata().map_err(io("fstat", path))?;
    if !meta.is_file() {
        return Err(PeersError::Io { op: "open", path: path.into(), errno: Errno::EINVAL });
    }
    let (old, new) = (meta.len(), text.len() as u64);
    let mut buf = text.as_bytes().to_vec();
    if old > new && old <= MAX_PAD {
        buf.resize(old as usize, b'\n');
    }
    write_all_at(&f, &buf).map_err(io("write", path))?;
    if old > new {
        f.set_len(new).map_err(io("ftruncate", path))?;
    }
    Ok(())
}

/// One `pwrite` for a hosts file's size; more only if the kernel writes less.
fn write_all_at(f: &File, mut buf: &[u8]) -> std::io::Result<()> {
    let mut off = 0u64;
    while !buf.is_empty() {
        match f.write_at(buf, off) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                off += n as u64;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
