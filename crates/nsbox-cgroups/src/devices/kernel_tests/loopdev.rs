//! A loop device over a 1 MiB file of our own: a real block device the tests may attack without
//! any risk to a real disk. Detached on drop.

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::stat::{makedev, mknod, Mode, SFlag};

// linux/loop.h
const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;

pub struct LoopDevice {
    fd: OwnedFd,
    pub major: u32,
    pub minor: u32,
}

impl LoopDevice {
    /// Creates `dir/image` and binds it to a free loop device, reaching the device through a node
    /// of our own in `dir` (so /dev need not have it yet).
    pub fn attach(dir: &Path) -> LoopDevice {
        let image = dir.join("image");
        let backing = OpenOptions::new().read(true).write(true).create_new(true).open(&image).unwrap();
        backing.set_len(1 << 20).unwrap();
        let ctl = std::fs::File::open("/dev/loop-control").expect("open /dev/loop-control (is the loop driver there?)");
        // Another process may take the device between GET_FREE and SET_FD (EBUSY): ask again.
        for _ in 0..20 {
            // SAFETY: LOOP_CTL_GET_FREE takes no argument and only returns a number.
            let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE) };
            assert!(n >= 0, "LOOP_CTL_GET_FREE: {}", std::io::Error::last_os_error());
            // The minor is not always n (max_part shifts it): the kernel says which it is.
            let dev = std::fs::read_to_string(format!("/sys/block/loop{n}/dev")).unwrap();
            let (major, minor) = dev.trim().split_once(':').unwrap();
            let (major, minor): (u32, u32) = (major.parse().unwrap(), minor.parse().unwrap());
            let node = dir.join(format!("host-loop{n}"));
            let _ = std::fs::remove_file(&node);
            mknod(&node, SFlag::S_IFBLK, Mode::from_bits_truncate(0o600), makedev(major.into(), minor.into())).unwrap();
            let fd: OwnedFd = OpenOptions::new().read(true).write(true).open(&node).unwrap().into();
            // SAFETY: LOOP_SET_FD takes the backing file's fd by value; both fds are open.
            let r = unsafe { libc::ioctl(fd.as_raw_fd(), LOOP_SET_FD, backing.as_raw_fd() as libc::c_ulong) };
            if r == 0 {
                return LoopDevice { fd, major, minor };
            }
            let e = std::io::Error::last_os_error();
            assert_eq!(e.raw_os_error(), Some(libc::EBUSY), "LOOP_SET_FD loop{n}: {e}");
        }
        panic!("no free loop device after 20 tries");
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        // SAFETY: LOOP_CLR_FD takes no argument; the fd is ours and open.
        if unsafe { libc::ioctl(self.fd.as_raw_fd(), LOOP_CLR_FD, 0) } != 0 {
            eprintln!("LOOP_CLR_FD {}:{}: {}", self.major, self.minor, std::io::Error::last_os_error());
        }
    }
}
