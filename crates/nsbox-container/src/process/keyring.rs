//! A session keyring of the container's own. Keyrings are not namespaced by anything but the user
//! namespace, so without this a container of host root shares host root's session keyring (and,
//! through it, the user keyring): `keyctl` there reads and replaces the host's keys. As runc does,
//! each container process joins the keyring named `_ses.<container id>` (created by the first
//! one), which the default seccomp profile then keeps it from leaving.

use std::ffi::CString;

use nix::errno::Errno;

use super::{sys, ProcessError};

// <linux/keyctl.h>
const KEYCTL_SETPERM: libc::c_long = 5;
const KEYCTL_DESCRIBE: libc::c_long = 6;
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
/// KEY_USR_SEARCH: lets later processes of the same user (exec) find the keyring by its name.
const KEY_USR_SEARCH: u32 = 0x0008_0000;

/// The keyring's name for container `id`.
pub(crate) fn name(id: &str) -> String {
    format!("_ses.{id}")
}

/// Joins (or creates) the session keyring `name`. A kernel without keyrings (ENOSYS) is fine: there
/// is nothing to share then.
pub(crate) fn join(name: &str) -> Result<(), ProcessError> {
    let c = CString::new(name).map_err(|_| sys("keyctl KEYCTL_JOIN_SESSION_KEYRING", name)(Errno::EINVAL))?;
    // SAFETY: keyctl reads the NUL-terminated name during the call only.
    let serial = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c.as_ptr()) };
    match Errno::result(serial) {
        Ok(_) => {}
        Err(Errno::ENOSYS) => return Ok(()),
        Err(e) => return Err(sys("keyctl KEYCTL_JOIN_SESSION_KEYRING", name)(e)),
    }
    // "keyring;UID;GID;PERM;NAME", PERM in hex.
    let mut buf = [0u8; 512];
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    let n = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_DESCRIBE, serial, buf.as_mut_ptr(), buf.len()) };
    let n = Errno::result(n).map_err(sys("keyctl KEYCTL_DESCRIBE", name))? as usize;
    let text = String::from_utf8_lossy(&buf[..n.min(buf.len())]);
    let perm = text
        .split(';')
        .nth(3)
        .and_then(|p| u32::from_str_radix(p.trim_end_matches('\0'), 16).ok())
        .ok_or_else(|| sys("keyctl KEYCTL_DESCRIBE", name)(Errno::EINVAL))?;
    if perm & KEY_USR_SEARCH != 0 {
        return Ok(());
    }
    // SAFETY: plain integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, serial, perm | KEY_USR_SEARCH) };
    Errno::result(r).map(drop).map_err(sys("keyctl KEYCTL_SETPERM", name))
}
