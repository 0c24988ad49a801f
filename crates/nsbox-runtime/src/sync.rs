//! The runtime parent and the container child wait for each other over a socketpair: the child
//! must not go on before its id maps and cgroups exist, and the parent must learn whether exec
//! succeeded (end of stream: the close-on-exec socket closed) or what failed.

use std::os::unix::net::UnixStream;

use nsbox_core::protocol::{read_frame, write_frame};
use nsbox_core::WireError;
use serde::{Deserialize, Serialize};

use crate::error::{Result, RtError};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum SyncMsg {
    /// parent → child: maps written, cgroups joined; go on.
    Go,
    /// child → parent: namespaces and rootfs are ready, waiting for Start.
    Created,
    /// parent → child: exec the command.
    Start,
    /// child → parent: a step failed; the child exits with `exit_code`.
    Failed { error: WireError, exit_code: i32 },
}

pub struct SyncSocket(pub UnixStream);

impl SyncSocket {
    pub fn pair() -> Result<(SyncSocket, SyncSocket)> {
        let (a, b) = UnixStream::pair().map_err(|e| io_err("socketpair", e))?;
        Ok((SyncSocket(a), SyncSocket(b)))
    }

    pub fn send(&mut self, msg: &SyncMsg) -> Result<()> {
        write_frame(&mut self.0, msg).map_err(|e| io_err("sync write", e))
    }

    /// `None` when the other end closed (for the parent: the command was exec'd).
    pub fn recv(&mut self) -> Result<Option<SyncMsg>> {
        read_frame(&mut self.0).map_err(|e| io_err("sync read", e))
    }

    /// Waits for one specific message; anything else is a protocol error.
    pub fn expect(&mut self, what: &str, ok: impl Fn(&SyncMsg) -> bool) -> Result<()> {
        match self.recv()? {
            Some(m) if ok(&m) => Ok(()),
            Some(SyncMsg::Failed { error, exit_code }) => Err(RtError::Reported(error, exit_code)),
            other => Err(RtError::Protocol { op: "sync".into(), msg: format!("expected {what}, got {other:?}") }),
        }
    }
}

pub fn io_err(op: &str, e: std::io::Error) -> RtError {
    match e.raw_os_error() {
        Some(n) => RtError::sys(op.to_string(), "", nix::errno::Errno::from_raw(n)),
        None => RtError::Protocol { op: op.into(), msg: e.to_string() },
    }
}
