//! `run -d -i`: the container's stdin is a pipe whose write end the monitor keeps, so it stays open
//! while no one is attached (docker's `-d -i`) and attach clients write to it. Input the container
//! does not read yet waits in a bounded buffer; while that is full the monitor stops reading its
//! clients (back-pressure to them), it never blocks itself.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

/// Above this much pending input the monitor stops reading its attach clients.
const HIGH_WATER: usize = 1 << 16;

#[derive(Default)]
pub struct StdinPipe {
    fd: Option<OwnedFd>,
    pending: Vec<u8>,
    /// Close once the pending input is written.
    closing: bool,
}

impl StdinPipe {
    pub fn new(fd: Option<OwnedFd>) -> StdinPipe {
        StdinPipe { fd, pending: Vec::new(), closing: false }
    }

    /// The descriptor to poll for POLLOUT, while input waits.
    pub fn waiting(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().filter(|_| !self.pending.is_empty()).map(|f| f.as_fd())
    }

    /// True while the buffer is too full to take more from clients.
    pub fn full(&self) -> bool {
        self.pending.len() >= HIGH_WATER
    }

    /// Queues input and writes what the pipe takes now.
    pub fn feed(&mut self, data: &[u8]) {
        if self.fd.is_some() {
            self.pending.extend_from_slice(data);
            self.flush();
        }
    }

    /// Writes pending input without blocking; a container that closed its stdin loses it.
    pub fn flush(&mut self) {
        let Some(fd) = &self.fd else { return };
        while !self.pending.is_empty() {
            match nix::unistd::write(fd, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return,
                // EPIPE: nobody reads the pipe any more.
                Err(_) => {
                    self.pending = Vec::new();
                    self.fd = None;
                    return;
                }
            }
        }
        if self.closing {
            self.fd = None;
        }
    }

    /// Closes the container's stdin once what was written before has gone in (it then reads EOF).
    pub fn close(&mut self) {
        self.closing = true;
        self.flush();
    }
}
