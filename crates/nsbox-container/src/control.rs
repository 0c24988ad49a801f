//! The caller's end of the conversation (docs/protocol.md): the config may arrive on it, and the
//! runtime reports created/started/error/exited on it. Absent in plain OCI use.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nsbox_core::protocol::{read_frame, write_frame, FromRuntime, ToRuntime};
use nsbox_core::WireError;

use crate::create::sync::{io_err, Result, SyncError};

pub struct Control {
    file: File,
}

impl Control {
    /// Takes ownership of an inherited descriptor and keeps it out of the container.
    pub fn from_fd(fd: RawFd) -> Result<Control> {
        // SAFETY: the descriptor was handed to us on the command line and is used only here.
        let file = unsafe { File::from_raw_fd(fd) };
        fcntl(&file, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|errno| SyncError::Sys { op: "fcntl", path: format!("fd {fd}"), errno })?;
        Ok(Control { file })
    }

    pub fn recv(&mut self) -> Result<Option<ToRuntime>> {
        read_frame(&mut self.file).map_err(|e| io_err("control read", e))
    }

    /// Best effort: a caller that went away must not turn a result into a second failure.
    pub fn send(&mut self, msg: &FromRuntime) {
        let _ = write_frame(&mut self.file, msg);
    }

    pub fn error(&mut self, e: &WireError, exit_code: i32) {
        self.send(&FromRuntime::Error { error: e.clone(), exit_code });
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}
