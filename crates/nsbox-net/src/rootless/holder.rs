//! `nsbox-runtime net-holder CONFIG`: the one process per user that keeps the rootless network
//! namespace of the user's user-defined networks (docs/networking.md, "Rootless user-defined
//! networks"). It is started by [`super::bridge`] under `ROOT/run/netns.lock` and:
//! - forks the *namespace process*, which unshares a user namespace (the user mapped to root in
//!   it, as `unshare -r` and rootless podman do) and a network namespace owned by it, and then only
//!   sleeps (PR_SET_PDEATHSIG=SIGKILL: it dies with the holder, and both namespaces with it unless
//!   a container still holds its own);
//! - starts the egress helper (pasta, else slirp4netns) against that namespace, through the
//!   keeper's own start (PDEATHSIG too), so the bridges reach the outside through the user's sockets;
//! - writes `ROOT/run/netns.pid` (its pid and start time, the namespace process's, the helper's)
//!   and answers one JSON line on stdout;
//! - waits: SIGTERM (the last network was removed) or the namespace process's death ends it; the
//!   helper's death is recorded in `ROOT/run/netns-helper/status.json` (egress down) and it waits on.
//!
//! Single-threaded, and a separate executable: Node never unshares or enters a user namespace.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{fork, ForkResult, Pid};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::keeper::{pidfd_open, quiet_stdio, start, stop, wait_for_end, write_status};
use super::{io, sys, HelperKind, KeeperConfig, RootlessError};

type Result<T> = std::result::Result<T, RootlessError>;

/// The holder's configuration (one JSON argument).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderConfig {
    /// The user's state root (`$XDG_RUNTIME_DIR/nsbox`, ...).
    pub root: PathBuf,
    pub kind: HelperKind,
    pub helper: PathBuf,
}

/// The holder's user namespace's maps: the user's own id as 0 and, when /etc/subuid and /etc/subgid
/// give the user ranges (and newuidmap/newgidmap are installed), those ranges from 1 on, as a
/// rootless image store maps them (nsbox-image's store/idmap.rs, which the runtime asks): a
/// container made inside can only map ids its parent maps.
#[derive(Debug, Clone, Default)]
pub struct HolderMaps {
    pub uid_map: Vec<nsbox_core::idmap::IdMapping>,
    pub gid_map: Vec<nsbox_core::idmap::IdMapping>,
}

/// `ROOT/run/netns.pid`: how the holder is found (and known to be the same process).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderInfo {
    pub holder_pid: i32,
    pub holder_start: u64,
    /// The process whose /proc/PID/ns/{user,net} are the rootless network namespace.
    pub ns_pid: i32,
    pub ns_start: u64,
    pub helper: HelperKind,
    pub helper_pid: u32,
}

pub fn pid_file(root: &Path) -> PathBuf {
    root.join("run").join("netns.pid")
}

pub fn helper_dir(root: &Path) -> PathBuf {
    root.join("run").join("netns-helper")
}

/// Entry point: the process exit status. Answers ready (the HolderInfo) or the error on stdout.
pub fn run(config_json: &str, maps: &HolderMaps) -> i32 {
    let c: HolderConfig = match serde_json::from_str(config_json) {
        Ok(c) => c,
        Err(e) => return report(Err(RootlessError::Config { op: "net-holder config", detail: e.to_string() })),
    };
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        mask.add(s);
    }
    if let Err(e) = mask.thread_block() {
        return report(Err(sys("sigprocmask", "")(e)));
    }
    let sfd = match SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC) {
        Ok(s) => s,
        Err(e) => return report(Err(sys("signalfd", "")(e))),
    };
    let ns_pid = match make_namespaces(maps) {
        Ok(p) => p,
        Err(e) => return report(Err(e)),
    };
    let kc = KeeperConfig { kind: c.kind, helper: c.helper.clone(), pid: ns_pid.as_raw(), socket: None, make_namespaces: false, dir: helper_dir(&c.root), host_loopback: false, ports: vec![], cleanup: vec![] };
    let (mut helper, helper_fd, _exit_fd) = match start(&kc) {
        Ok(x) => x,
        Err(e) => {
            end_ns(ns_pid);
            let _ = fs::remove_dir_all(&kc.dir);
            return report(Err(e));
        }
    };
    let me = std::process::id() as i32;
    let start_of = |p: i32| crate::sys::process_start_time(p).unwrap_or(0);
    let info = HolderInfo { holder_pid: me, holder_start: start_of(me), ns_pid: ns_pid.as_raw(), ns_start: start_of(ns_pid.as_raw()), helper: c.kind, helper_pid: helper.id() };
    let status = kc.dir.join("status.json");
    write_status(&status, &json!({ "helper": c.kind, "pid": helper.id(), "running": true }));
    if let Err(e) = write_info(&c.root, &info) {
        stop(&mut helper);
        end_ns(ns_pid);
        let _ = fs::remove_dir_all(&kc.dir);
        return report(Err(e));
    }
    println!("{}", json!({ "ready": true, "holder": info }));
    let _ = std::io::stdout().flush();
    quiet_stdio();

    let ns_fd = pidfd_open(ns_pid.as_raw()).ok();
    let mut ends = vec![sfd.as_fd()];
    ends.extend(ns_fd.as_ref().map(|f| f.as_fd()));
    let helper_pid = helper.id();
    let helper_alive = wait_for_end(&ends, &mut helper, helper_fd.as_fd(), |how| {
        write_status(&status, &json!({ "helper": c.kind, "pid": helper_pid, "running": false, "exit": how }));
    });
    if helper_alive {
        stop(&mut helper);
    }
    end_ns(ns_pid);
    let _ = fs::remove_dir_all(&kc.dir);
    // The pid file is the lock holder's to remove (bridge.rs); one naming us is stale now anyway.
    0
}

/// Forks the namespace process and writes its maps: the user's uid and gid become 0 inside (and
/// the subordinate ranges, if any, 1… through newuidmap/newgidmap).
fn make_namespaces(maps: &HolderMaps) -> Result<Pid> {
    let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    let (up_r, up_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe2", ""))?;
    let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe2", ""))?;
    let parent = std::process::id() as i32;
    // SAFETY: the holder is single-threaded here, so the child may run any code until it exits.
    match unsafe { fork() }.map_err(sys("fork", "net-holder"))? {
        ForkResult::Child => {
            drop((up_r, go_w));
            ns_child(parent, up_w, go_r)
        }
        ForkResult::Parent { child } => {
            drop((up_w, go_r));
            let mut b = [0u8; 1];
            let mut up = fs::File::from(up_r);
            if !matches!(up.read(&mut b), Ok(1)) || b[0] != b'1' {
                let _ = nix::sys::wait::waitpid(child, None);
                return Err(RootlessError::Helper { op: "unshare user and network namespace", path: "net-holder".into(), detail: "the namespace process could not unshare (are unprivileged user namespaces disabled? see kernel.unprivileged_userns_clone)".into() });
            }
            let pid = child.as_raw();
            let w = |name: &str, text: String| -> Result<()> {
                let p = format!("/proc/{pid}/{name}");
                fs::write(&p, text).map_err(io("write", p))
            };
            let mapped = if maps.uid_map.len() > 1 && maps.gid_map.len() > 1 {
                helper_map("newuidmap", pid, &maps.uid_map).and_then(|_| helper_map("newgidmap", pid, &maps.gid_map))
            } else {
                w("setgroups", "deny".into()).and_then(|_| w("uid_map", format!("0 {uid} 1\n"))).and_then(|_| w("gid_map", format!("0 {gid} 1\n")))
            };
            if let Err(e) = mapped {
                end_ns(child);
                return Err(e);
            }
            let _ = fs::File::from(go_w).write_all(b"1");
            Ok(child)
        }
    }
}

/// newuidmap/newgidmap PID INSIDE OUTSIDE COUNT…: the setuid helpers that check /etc/sub[ug]id.
fn helper_map(helper: &'static str, pid: i32, maps: &[nsbox_core::idmap::IdMapping]) -> Result<()> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.inside.to_string(), m.outside.to_string(), m.length.to_string()]);
    }
    let out = cmd.output().map_err(io("run", helper))?;
    if out.status.success() {
        return Ok(());
    }
    Err(RootlessError::Helper { op: "map the holder's user namespace", path: helper.into(), detail: String::from_utf8_lossy(&out.stderr).trim().to_string() })
}

/// The namespace process: unshare, report, wait for the maps, then sleep until killed.
fn ns_child(parent: i32, up: OwnedFd, go: OwnedFd) -> ! {
    // SAFETY: prctl/getppid/unshare/_exit are plain syscalls; we own every descriptor we touch.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) < 0 || libc::getppid() != parent {
            libc::_exit(1);
        }
        let ok = libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0;
        let _ = libc::write(up.as_raw_fd(), if ok { b"1".as_ptr() } else { b"0".as_ptr() }.cast(), 1);
        if !ok {
            libc::_exit(1);
        }
        let mut b = [0u8; 1];
        let _ = libc::read(go.as_raw_fd(), b.as_mut_ptr().cast(), 1);
        // Nothing of the holder's is ours to keep (its stdout is the caller's pipe).
        libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
        loop {
            libc::pause();
        }
    }
}

fn end_ns(pid: Pid) {
    let _ = kill(pid, Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(pid, None);
}

fn write_info(root: &Path, info: &HolderInfo) -> Result<()> {
    let path = pid_file(root);
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, serde_json::to_string(info).unwrap_or_default()).map_err(io("write", &tmp))?;
    fs::rename(&tmp, &path).map_err(io("rename", &path))
}

fn report(r: Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            println!("{}", json!({ "ready": false, "code": e.code(), "message": e.to_string() }));
            125
        }
    }
}
