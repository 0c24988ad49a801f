//! The detached container's log: one JSON line per chunk of output, `{"stream","time","log"}`,
//! rotated to `container.log.1` at a configurable size. A disk that refuses a write (ENOSPC, EIO)
//! never stops the monitor from draining the container's pipes: the chunk is dropped and counted,
//! and once writing works again an error line says how much was lost.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::errno::Errno;
use nsbox_core::error::errno_name;
use nsbox_container::error::errno_of;
use nsbox_container::state::now_rfc3339;
use serde::Serialize;

pub const DEFAULT_MAX_SIZE: u64 = 10 << 20;

/// Space kept aside (a file of zeros next to the log) for what must be written at the end even on
/// a full disk: the note about dropped output, the final state.json and the exit event.
const RESERVE: usize = 16 << 10;

#[derive(Serialize)]
struct Line<'a> {
    stream: &'a str,
    time: String,
    log: String,
}

/// Why the log last refused output; state.json records it as `logError`.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("open({}): {source}", path.display())]
    Open { path: PathBuf, source: std::io::Error },
    #[error("write({}): {}: {source}", path.display(), errno_name(*errno))]
    Write { path: PathBuf, errno: Errno, source: std::io::Error },
}

pub struct LogWriter {
    pub path: PathBuf,
    file: Option<File>,
    size: u64,
    max_size: u64,
    /// Bytes of output lost so far, and since the last error line.
    pub dropped: u64,
    pending_dropped: u64,
    pub error: Option<LogError>,
    /// A failed write may have left part of a line: start the next write on a fresh line.
    torn: bool,
}

impl LogWriter {
    pub fn open(path: PathBuf, max_size: u64) -> LogWriter {
        // Zeros only, but owner-only like everything in the container's directory.
        let _ = OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(path.with_extension("reserve")).and_then(|mut f| f.write_all(&[0u8; RESERVE]));
        let mut w = LogWriter { path, file: None, size: 0, max_size: max_size.max(4096), dropped: 0, pending_dropped: 0, error: None, torn: false };
        w.reopen();
        w
    }

    /// At the end: frees the reserved space and writes the note about dropped output, if any is
    /// still unwritten, so the log itself says what the full disk cost.
    pub fn close(&mut self) {
        let _ = std::fs::remove_file(self.path.with_extension("reserve"));
        if self.pending_dropped > 0 {
            self.write_raw(&self.note());
        }
    }

    /// A line of ours (stream stderr, starting `nsbox: `) after the container's output, e.g. a
    /// failure to release its network at the exit. Best effort, like the dropped-output note.
    pub fn notice(&mut self, text: &str) {
        let mut line = serde_json::to_string(&Line { stream: "stderr", time: now_rfc3339(), log: format!("nsbox: {text}\n") }).unwrap_or_default();
        line.push('\n');
        self.write_raw(&line);
    }

    fn note(&self) -> String {
        let note = format!("nsbox: {} bytes of output were dropped: {}\n", self.pending_dropped, self.error.as_ref().map_or_else(|| "log write failed".to_string(), ToString::to_string));
        let mut line = serde_json::to_string(&Line { stream: "stderr", time: now_rfc3339(), log: note }).unwrap_or_default();
        line.push('\n');
        line
    }

    fn write_raw(&mut self, text: &str) {
        if self.file.is_none() {
            self.reopen();
        }
        let text = if self.torn { format!("\n{text}") } else { text.to_string() };
        if let Some(f) = &mut self.file {
            if f.write_all(text.as_bytes()).is_ok() {
                self.size += text.len() as u64;
                self.pending_dropped = 0;
                self.torn = false;
            }
        }
    }

    fn reopen(&mut self) {
        // Owner-only: the container's output may hold its secrets (docker's are 0640 root:root;
        // our owner may be any user, and its group is no one's business).
        match OpenOptions::new().create(true).append(true).mode(0o600).custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW).open(&self.path) {
            Ok(f) => {
                self.size = f.metadata().map(|m| m.len()).unwrap_or(0);
                self.file = Some(f);
            }
            Err(e) => {
                self.file = None;
                self.error = Some(LogError::Open { path: self.path.clone(), source: e });
            }
        }
    }

    fn rotate(&mut self) {
        let old = self.path.with_extension("log.1");
        self.file = None;
        let _ = std::fs::rename(&self.path, &old);
        self.reopen();
    }

    /// Records one chunk of the container's output; never fails, never retries for long.
    pub fn write(&mut self, stream: &str, data: &[u8]) {
        let line = Line { stream, time: now_rfc3339(), log: String::from_utf8_lossy(data).into_owned() };
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        if self.pending_dropped > 0 {
            text.insert_str(0, &self.note());
        }
        if self.size > 0 && self.size + text.len() as u64 > self.max_size {
            self.rotate();
            self.torn = false;
        }
        if self.torn {
            text.insert(0, '\n');
        }
        if self.file.is_none() {
            self.reopen();
        }
        let result = match &mut self.file {
            Some(f) => f.write_all(text.as_bytes()),
            None => Err(std::io::Error::from_raw_os_error(libc::EBADF)),
        };
        match result {
            Ok(()) => {
                self.size += text.len() as u64;
                self.pending_dropped = 0;
                self.torn = false;
            }
            Err(e) => {
                // A full disk: give up the rotated file to make room for the next attempt.
                if e.raw_os_error() == Some(libc::ENOSPC) {
                    let _ = std::fs::remove_file(self.path.with_extension("log.1"));
                }
                self.error = Some(LogError::Write { path: self.path.clone(), errno: errno_of(&e), source: e });
                self.dropped += data.len() as u64;
                self.pending_dropped += data.len() as u64;
                // Whatever part of the line reached the file is unknown: start a fresh line next time.
                self.size = self.file.as_ref().and_then(|f| f.metadata().ok()).map(|m| m.len()).unwrap_or(self.size);
                self.torn = self.file.as_mut().map(|f| f.write_all(b"\n").is_err()).unwrap_or(false);
            }
        }
    }
}
