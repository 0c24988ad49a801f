//! Writing a setting into a cgroup v1 hierarchy's directory of the container.

use std::path::Path;

use nix::errno::Errno;

use super::ResourceError;

pub fn write(field: &str, dir: &Path, file: &str, value: &str) -> Result<(), ResourceError> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|e| ResourceError::Write {
        field: field.to_string(),
        path: path.display().to_string(),
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    if file == "memory.kmem.limit_in_bytes" {
        kmem_took(field, &path, value)?;
    }
    Ok(())
}

/// Since Linux 5.16 the kernel accepts a kernel memory limit and ignores it (it reads back as
/// unlimited): refused rather than left unenforced.
fn kmem_took(field: &str, path: &Path, value: &str) -> Result<(), ResourceError> {
    let want: i64 = value.parse().unwrap_or(-1);
    let got: i64 = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(-1);
    // The kernel rounds a limit down to whole pages.
    // SAFETY: sysconf only reads a constant.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as i64,
        _ => 4096,
    };
    if want < 0 || got == want / page * page {
        return Ok(());
    }
    Err(ResourceError::Unavailable {
        field: field.to_string(),
        msg: format!("this kernel ignores kernel memory limits ({} reads back {got} after writing {want}); remove it", path.display()),
    })
}
