//! The attack, run by a forked child after the parent has moved it into the cgroups under test:
//! mknod a block node for the loop device, open it read-write, and open /dev/null read-write.
//! Each result comes back as an errno (0 = it worked).

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{pipe2, Pid};

#[derive(Debug, PartialEq, Eq)]
pub struct Probe {
    pub mknod: i32,
    pub open_node_rw: i32,
    pub open_null_rw: i32,
}

pub const OK: Probe = Probe { mknod: 0, open_node_rw: 0, open_null_rw: 0 };
pub const NODE_DENIED: Probe = Probe { mknod: 0, open_node_rw: libc::EPERM, open_null_rw: 0 };

/// Kills and reaps the child if the test fails before it has.
struct Child(Option<Pid>);

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

fn child_errno() -> i32 {
    // SAFETY: errno is thread-local and always readable.
    unsafe { *libc::__errno_location() }
}

/// Runs the probe in a child that is first written to each of `procs` (cgroup.procs files). The
/// node is created at `node` (a fresh path) and removed afterwards.
pub fn probe(procs: &[&Path], node: &Path, major: u32, minor: u32) -> Probe {
    let node_c = CString::new(node.as_os_str().as_bytes()).unwrap();
    let null_c = c"/dev/null";
    let dev = libc::makedev(major, minor);
    let (go_r, go_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let (res_r, res_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    // SAFETY: the test harness is multithreaded, so the child calls only async-signal-safe
    // functions (read, mknod, open, close, write, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: see above; the buffers and C strings outlive these calls.
        unsafe {
            let mut b = 0u8;
            if libc::read(go_r.as_raw_fd(), (&mut b as *mut u8).cast(), 1) != 1 {
                libc::_exit(2);
            }
            let mut out = [0i32; 3];
            if libc::mknod(node_c.as_ptr(), libc::S_IFBLK | 0o600, dev) != 0 {
                out[0] = child_errno();
            }
            for (slot, path) in [(1, node_c.as_ptr()), (2, null_c.as_ptr())] {
                let fd = libc::open(path, libc::O_RDWR | libc::O_CLOEXEC);
                if fd < 0 {
                    out[slot] = child_errno();
                } else {
                    libc::close(fd);
                }
            }
            let n = libc::write(res_w.as_raw_fd(), out.as_ptr().cast(), std::mem::size_of_val(&out));
            libc::_exit(if n == std::mem::size_of_val(&out) as isize { 0 } else { 3 });
        }
    }
    let mut child = Child(Some(Pid::from_raw(pid)));
    drop((go_r, res_w));
    for p in procs {
        std::fs::write(p, pid.to_string()).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }
    nix::unistd::write(&go_w, &[1]).unwrap();
    let out = read_results(&res_r);
    let pid = child.0.take().unwrap();
    assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 0), "probe child");
    let _ = std::fs::remove_file(node);
    Probe { mknod: out[0], open_node_rw: out[1], open_null_rw: out[2] }
}

fn read_results(fd: &OwnedFd) -> [i32; 3] {
    let mut buf = [0u8; 12];
    let mut got = 0;
    while got < buf.len() {
        let n = nix::unistd::read(fd, &mut buf[got..]).unwrap();
        assert!(n > 0, "probe child ended without results");
        got += n;
    }
    let word = |i: usize| i32::from_ne_bytes(buf[i * 4..i * 4 + 4].try_into().unwrap());
    [word(0), word(1), word(2)]
}
