//! cgroup v2 enforcement: load the generated device program with bpf(2) and attach it to the
//! container's cgroup2 directory.
//!
//! - License "Apache-2.0", ours. For this program type the kernel wants a GPL-compatible license
//!   only before letting a program call GPL-only helpers; ours calls no helper at all, so it loads
//!   under any license string (the privileged tests load it with this one).
//! - Attached with BPF_F_ALLOW_MULTI: a parent's programs keep running for the child (the kernel
//!   ANDs them), so a runtime nested in a cgroup that already carries a device program (systemd
//!   attaches one to units with DeviceAllow= or DevicePolicy=) can only narrow it, never replace it.
//! - Updating attaches the new program in place of the old with BPF_F_REPLACE, atomically; when the
//!   old program's fd was not kept, the new one is attached first and the old ones detached after,
//!   so there is never a moment without a filter (for that moment both apply, which only narrows).
//! - The verifier's log is fetched only after a failed load, by loading again with log_level 1: a
//!   log buffer on every load costs verifier time, and a too-small buffer makes an otherwise valid
//!   load fail with ENOSPC.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use super::error::{sys, DeviceCgroupError, Result};
use super::insn::{Insn, RawInsn};
use super::program::compile;
use nsbox_core::devices::DeviceRule;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 1 << 1;
const BPF_F_REPLACE: u32 = 1 << 2;

const LICENSE: &[u8] = b"Apache-2.0\0";
const LOG_SIZE: usize = 256 * 1024;

// The leading members of `union bpf_attr` each command reads; the kernel treats the bytes we do
// not pass as zero.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::result::Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a live, initialised #[repr(C)] prefix of `union bpf_attr` for `cmd`, and
    // the size passed is its exact size; any pointers inside it point to buffers the caller keeps
    // alive for the duration of this call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>() as u32) };
    Errno::result(r)
}

fn fd_from(r: libc::c_long) -> OwnedFd {
    // SAFETY: a successful BPF_PROG_LOAD / BPF_PROG_GET_FD_BY_ID returns a new fd that nothing
    // else owns.
    unsafe { OwnedFd::from_raw_fd(r as i32) }
}

/// Loads `insns` as a device program; `what` names it in errors (the cgroup it is meant for).
pub(crate) fn load_insns(insns: &[Insn], what: &str) -> Result<OwnedFd> {
    let raw: Vec<RawInsn> = insns.iter().map(Insn::encode).collect();
    let mut name = [0u8; 16];
    name[..13].copy_from_slice(b"nsbox_devices");
    let attr = |log: &mut [u8], level: u32| ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: raw.len() as u32,
        insns: raw.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        log_level: level,
        log_size: log.len() as u32,
        log_buf: if log.is_empty() { 0 } else { log.as_mut_ptr() as u64 },
        prog_name: name,
        ..ProgLoadAttr::default()
    };
    let errno = match bpf(BPF_PROG_LOAD, &mut attr(&mut [], 0)) {
        Ok(fd) => return Ok(fd_from(fd)),
        Err(e) => e,
    };
    let mut log = vec![0u8; LOG_SIZE];
    let again = bpf(BPF_PROG_LOAD, &mut attr(&mut log, 1));
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let mut text = String::from_utf8_lossy(&log[..end]).trim_end().to_string();
    match again {
        // Loading with a log succeeded where loading without failed: report the first failure.
        Ok(fd) => drop(fd_from(fd)),
        Err(Errno::ENOSPC) => text.push_str(" [log cut at 256 KiB]"),
        Err(_) => {}
    }
    if text.is_empty() {
        text = "(empty)".into();
    }
    Err(DeviceCgroupError::BpfLoad { op: "bpf(BPF_PROG_LOAD)", path: what.to_string(), errno, log: text })
}

fn open_cgroup(dir: &Path) -> Result<OwnedFd> {
    open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open", dir.display()))
}

/// A device program attached to one cgroup2 directory by us. Dropping it closes our fds but leaves
/// the program attached (the attachment holds its own reference) until `detach`, a replacement, or
/// the cgroup's removal.
#[derive(Debug)]
pub struct AttachedDeviceFilter {
    cgroup: OwnedFd,
    path: PathBuf,
    prog: OwnedFd,
}

/// Generates, loads and attaches the program for `rules` to the cgroup2 directory `cgroup_dir`.
pub fn attach(cgroup_dir: &Path, rules: &[DeviceRule]) -> Result<AttachedDeviceFilter> {
    let cgroup = open_cgroup(cgroup_dir)?;
    let prog = load_insns(&compile(rules)?, &cgroup_dir.display().to_string())?;
    prog_attach(&cgroup, cgroup_dir, &prog, None)?;
    Ok(AttachedDeviceFilter { cgroup, path: cgroup_dir.to_path_buf(), prog })
}

fn prog_attach(cgroup: &OwnedFd, path: &Path, prog: &OwnedFd, replace: Option<&OwnedFd>) -> Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI | replace.map_or(0, |_| BPF_F_REPLACE),
        replace_bpf_fd: replace.map_or(0, |fd| fd.as_raw_fd() as u32),
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop).map_err(sys("bpf(BPF_PROG_ATTACH)", path.display()))
}

fn prog_detach(cgroup: &OwnedFd, path: &Path, prog: &OwnedFd) -> Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..AttachAttr::default()
    };
    bpf(BPF_PROG_DETACH, &mut attr).map(drop).map_err(sys("bpf(BPF_PROG_DETACH)", path.display()))
}

impl AttachedDeviceFilter {
    /// Swaps in the program for `rules` atomically: no access is ever checked by neither.
    pub fn replace(&mut self, rules: &[DeviceRule]) -> Result<()> {
        let prog = load_insns(&compile(rules)?, &self.path.display().to_string())?;
        prog_attach(&self.cgroup, &self.path, &prog, Some(&self.prog))?;
        self.prog = prog;
        Ok(())
    }

    pub fn detach(self) -> Result<()> {
        prog_detach(&self.cgroup, &self.path, &self.prog)
    }

    pub fn cgroup_dir(&self) -> &Path {
        &self.path
    }
}

/// Ids of the device programs attached directly to `cgroup_dir` (not those inherited from its
/// ancestors), by anyone.
pub fn attached_program_ids(cgroup_dir: &Path) -> Result<Vec<u32>> {
    query_ids(&open_cgroup(cgroup_dir)?, cgroup_dir)
}

fn query_ids(cgroup: &OwnedFd, path: &Path) -> Result<Vec<u32>> {
    // BPF_CGROUP_MAX_PROGS is 64, so one call with room for 64 always sees them all.
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..QueryAttr::default()
    };
    bpf(BPF_PROG_QUERY, &mut attr).map_err(sys("bpf(BPF_PROG_QUERY)", path.display()))?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

/// For a process that did not keep the fd (a later `update`): attaches the program for `rules`,
/// then detaches every device program that was attached to `cgroup_dir` before. Detaching goes on
/// past a failure and the first failure is returned; the new program is attached either way.
pub fn replace_all(cgroup_dir: &Path, rules: &[DeviceRule]) -> Result<AttachedDeviceFilter> {
    let cgroup = open_cgroup(cgroup_dir)?;
    let old = query_ids(&cgroup, cgroup_dir)?;
    let filter = attach(cgroup_dir, rules)?;
    let mut first_error = None;
    for id in old {
        let mut attr = GetFdAttr { prog_id: id, ..GetFdAttr::default() };
        let result = bpf(BPF_PROG_GET_FD_BY_ID, &mut attr)
            .map_err(sys("bpf(BPF_PROG_GET_FD_BY_ID)", format!("prog {id}")))
            .and_then(|fd| prog_detach(&cgroup, cgroup_dir, &fd_from(fd)));
        match result {
            // Someone else detached it meanwhile: the goal is met.
            Err(DeviceCgroupError::Sys { errno: Errno::ENOENT, .. }) | Ok(()) => {}
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    first_error.map_or(Ok(filter), Err)
}
