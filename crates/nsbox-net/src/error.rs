//! The error of the network operations (create, attach, ...), and how it crosses into the structured
//! `WireError` every layer shares: `code` is an errno name or ERR_*, `op` the step, `path` the
//! interface, file or network it was about.

use nix::errno::Errno;
use nsbox_core::error::{errno_name, WireError};

use crate::ipam::IpamError;
use crate::netlink::NetlinkError;
use crate::nft::NftError;
use crate::state::StateError;
use crate::sys::SysError;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("network {name:?} not found")]
    NotFound { name: String },
    #[error("network {name:?} already exists")]
    Exists { name: String },
    #[error("subnet {subnet} overlaps {other}")]
    Overlap { subnet: String, other: String },
    #[error("network {name:?} is in use by {endpoints}")]
    InUse { name: String, endpoints: String },
    #[error("ports: {port} is already published ({by})")]
    PortInUse { port: String, by: String, errno: Errno },
    #[error("attach({path}): the owner process {pid} is not running")]
    NoOwner { path: String, pid: i32 },
    #[error("attach({path}): already attached to network {network:?}")]
    AlreadyAttached { path: String, network: String },
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Sys(#[from] SysError),
    #[error(transparent)]
    Nft(#[from] NftError),
    /// Teardown went on after failures; here are all of them.
    #[error("{op}: {} step(s) failed: {}", errors.len(), errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Teardown { op: &'static str, errors: Vec<NetError> },
}

pub type Result<T> = std::result::Result<T, NetError>;

fn wire(code: &str, op: &str, path: Option<String>, errno: Option<Errno>, message: String) -> WireError {
    WireError { code: code.into(), op: op.into(), path, errno: errno.map(|e| e as i32), message }
}

fn from_errno(op: &str, path: Option<String>, errno: Errno, message: String) -> WireError {
    wire(&errno_name(errno), op, path, Some(errno), message)
}

impl From<&NetError> for WireError {
    fn from(e: &NetError) -> WireError {
        let msg = e.to_string();
        match e {
            NetError::Invalid { field, message } => WireError::invalid_spec(*field, message.clone()),
            NetError::NotFound { name } => wire("ERR_NETWORK_NOT_FOUND", "network", Some(name.clone()), None, msg),
            NetError::Exists { name } => from_errno("create network", Some(name.clone()), Errno::EEXIST, msg),
            NetError::Overlap { subnet, .. } => wire("ERR_SUBNET_OVERLAP", "subnet", Some(subnet.clone()), None, msg),
            NetError::InUse { name, .. } => from_errno("remove network", Some(name.clone()), Errno::EBUSY, msg),
            NetError::PortInUse { port, errno, .. } => from_errno("ports", Some(port.clone()), *errno, msg),
            NetError::NoOwner { path, .. } => from_errno("attach", Some(path.clone()), Errno::ESRCH, msg),
            NetError::AlreadyAttached { path, .. } => from_errno("attach", Some(path.clone()), Errno::EEXIST, msg),
            NetError::Ipam(i) => match i {
                IpamError::InUse { ip, .. } => from_errno("ip", Some(ip.to_string()), Errno::EADDRINUSE, msg),
                IpamError::Exhausted { subnet, .. } => from_errno("ip", Some(subnet.to_string()), Errno::ENOSPC, msg),
                IpamError::BadSubnet { field, .. }
                | IpamError::HostBits { field, .. }
                | IpamError::TooSmall { field, .. }
                | IpamError::BadAddress { field, .. }
                | IpamError::OutsideSubnet { field, .. }
                | IpamError::BadMac { field, .. } => WireError::invalid_spec(*field, msg),
            },
            NetError::State(s) => match s {
                StateError::Io { op, path, errno } => from_errno(op, Some(path.display().to_string()), *errno, msg),
                StateError::Corrupt { path, .. } => WireError::runtime("read state", Some(path.display().to_string()), msg),
            },
            NetError::Netlink(n) => match n.errno() {
                Some(errno) => from_errno(n.op(), Some(n.target().to_string()), errno, msg),
                None => WireError::runtime(n.op(), Some(n.target().to_string()), msg),
            },
            NetError::Sys(s) => match s {
                SysError::Io { op, path, errno } => from_errno(op, Some(path.clone()), *errno, msg),
                SysError::Netlink(n) => (&NetError::Netlink(clone_nl(n))).into(),
                SysError::Worker { .. } => WireError::runtime("nsbox-net worker", None, msg),
                SysError::HostNetns { path } => from_errno("attach", Some(path.clone()), Errno::EINVAL, msg),
            },
            NetError::Nft(n) => match n {
                NftError::Spawn { op, path, errno } => from_errno(op, Some(path.clone()), *errno, msg),
                NftError::Failed { op, errno: Some(errno), .. } => from_errno(op, Some("nft".into()), *errno, msg),
                NftError::Failed { op, errno: None, .. } => wire("ERR_NFT", op, Some("nft".into()), None, msg),
                NftError::Elements(el) => match el.errno() {
                    Some(errno) => from_errno(el.op(), Some(el.target().to_string()), errno, msg),
                    None => wire("ERR_NFT", el.op(), Some(el.target().to_string()), None, msg),
                },
            },
            NetError::Teardown { op, errors } => {
                let first: Option<WireError> = errors.first().map(Into::into);
                wire("ERR_TEARDOWN", op, first.as_ref().and_then(|f| f.path.clone()),
                    first.and_then(|f| f.errno).map(Errno::from_raw), msg)
            }
        }
    }
}

fn clone_nl(n: &NetlinkError) -> NetlinkError {
    match n.errno() {
        Some(errno) => NetlinkError::Kernel { op: n.op().into(), target: n.target().into(), errno, message: n.to_string() },
        None => NetlinkError::Decode { op: n.op().into(), target: n.target().into(), detail: n.to_string() },
    }
}

/// Collects failures of a teardown that must go on regardless.
#[derive(Default)]
pub struct Errors(pub Vec<NetError>);

impl Errors {
    pub fn keep<T, E: Into<NetError>>(&mut self, r: std::result::Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e.into());
                None
            }
        }
    }
    /// For rollbacks: the first error is the cause; later ones are what the rollback could not undo.
    pub fn fail<T>(self, op: &'static str) -> Result<T> {
        match self.finish(op) {
            Err(e) => Err(e),
            Ok(()) => Err(NetError::Invalid { field: "internal", message: format!("{op} failed without an error") }),
        }
    }
    pub fn finish(self, op: &'static str) -> Result<()> {
        let mut errors = self.0;
        match errors.pop() {
            None => Ok(()),
            Some(only) if errors.is_empty() => Err(only),
            Some(last) => {
                errors.push(last);
                Err(NetError::Teardown { op, errors })
            }
        }
    }
}
