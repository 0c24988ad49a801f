//! The BPF program libseccomp generated, kept from compile to load, and installed with one
//! seccomp(2) call. libseccomp 2.5 (Debian 12) generates the program inside `seccomp_load`, which
//! takes milliseconds for docker-sized profiles; exporting it once in `compile` leaves the
//! container's init a single syscall with no allocation. The program is libseccomp's output,
//! byte for byte: nothing here builds or edits BPF.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{FromRawFd, OwnedFd};

use libseccomp::ScmpFilterContext;
use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MFdFlags};

use super::error::FilterError;

/// The kernel's limit on one filter (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;
/// Size of one `struct sock_filter` as libseccomp writes it.
const INSN_SIZE: usize = std::mem::size_of::<libc::sock_filter>();

pub(super) fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, FilterError> {
    let sys = |op: &'static str| move |errno: Errno| FilterError::Sys { op, errno };
    let fd = memfd_create("nsbox-seccomp-bpf", MFdFlags::MFD_CLOEXEC).map_err(sys("memfd_create"))?;
    ctx.export_bpf(&fd).map_err(|e| FilterError::lib("seccomp_export_bpf", "filter", e))?;
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::new();
    let io = |e: std::io::Error| FilterError::Sys {
        op: "read exported filter",
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    };
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.read_to_end(&mut bytes).map_err(io)?;
    from_bytes(&bytes)
}

/// libseccomp's exported bytes as instructions, refusing anything that is not a whole program
/// the kernel could take.
pub(super) fn from_bytes(bytes: &[u8]) -> Result<Vec<libc::sock_filter>, FilterError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(INSN_SIZE) {
        return Err(FilterError::invalid("filter", format!("{} bytes of BPF, not whole instructions", bytes.len())));
    }
    if bytes.len() / INSN_SIZE > MAX_INSNS {
        return Err(FilterError::invalid(
            "syscalls",
            format!("the filter has {} instructions, more than the kernel takes in one filter ({MAX_INSNS})", bytes.len() / INSN_SIZE),
        ));
    }
    Ok(bytes
        .chunks_exact(INSN_SIZE)
        .map(|b| libc::sock_filter {
            code: u16::from_ne_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        })
        .collect())
}

pub(super) fn to_bytes(insns: &[libc::sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * INSN_SIZE);
    for i in insns {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.extend_from_slice(&[i.jt, i.jf]);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). With SECCOMP_FILTER_FLAG_NEW_LISTENER in
/// `flags` the kernel returns the listener (close-on-exec).
pub(super) fn install(insns: &[libc::sock_filter], flags: libc::c_ulong) -> Result<Option<OwnedFd>, FilterError> {
    let prog = libc::sock_fprog { len: insns.len() as libc::c_ushort, filter: insns.as_ptr().cast_mut() };
    // SAFETY: `prog` points at `insns`, which outlives the call; the kernel copies the program
    // and does not keep the pointer.
    let rc = unsafe {
        libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, &prog as *const libc::sock_fprog)
    };
    if rc < 0 {
        return Err(FilterError::Load { errno: Errno::last() });
    }
    if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER == 0 {
        return Ok(None);
    }
    // SAFETY: with NEW_LISTENER the return value is a new fd that only we hold.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(rc as i32) }))
}
