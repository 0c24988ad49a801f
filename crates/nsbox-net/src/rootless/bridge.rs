//! `nsbox-runtime rootless-net OP JSON`: a network operation of a rootless user's user-defined
//! networks (create, ls, inspect, rm, prune, attach, detach), run inside the user's rootless
//! network namespace (holder.rs) with the ordinary bridge code of this crate.
//!
//! Locking: every operation takes an exclusive flock on `ROOT/run/netns.lock` for its whole length:
//! finding the holder (its pid file, checked against the pid's start time), starting one (create),
//! the operation itself, and stopping the holder when the last network is gone. The kernel drops
//! the lock when this process dies, SIGKILL included. A pid file whose holder is gone (SIGKILL) is
//! stale: the next operation removes it with the networks' state (its namespaces, bridges and
//! veths died with it).
//!
//! How it gets in: this process is single-threaded until it has joined the holder's user
//! namespace and then its network namespace (setns; as the namespace's owner it may). Inside it is
//! root of that user namespace: CAP_NET_ADMIN over the bridges, and over a container's network
//! namespace when the container's user namespace was made inside the holder's
//! (nsbox-container's create/userns_parent.rs). `nft` run from here inherits the same.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::{setns, CloneFlags};
use nix::sys::stat::Mode;
use nsbox_core::error::WireError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::holder::{helper_dir, pid_file, HolderConfig, HolderInfo};
use super::keeper::pidfd_open;
use super::HelperKind;
use crate::error::NetError;
use crate::state::Store;

/// What the TS library passes: the user's state root, the helper for a holder it may have to start,
/// and the operation's own options (those of the napi bindings).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OpConfig {
    pub root: PathBuf,
    pub kind: Option<HelperKind>,
    pub helper: Option<PathBuf>,
    #[serde(default)]
    pub args: Value,
}

pub(super) fn fail(code: &str, op: &str, path: Option<String>, message: String) -> WireError {
    WireError { code: code.into(), op: op.into(), path, errno: None, message }
}

fn errno_fail(op: &str, path: &Path, errno: Errno) -> WireError {
    WireError::from_errno(op, Some(path.display().to_string()), errno, errno.desc())
}

fn net(e: NetError) -> WireError {
    WireError::from(&e)
}

/// The networks' store inside the user's state root (`run/`: never listed as a container, and on
/// the runtime directory's tmpfs: the networks go with the namespace at reboot).
pub fn store(root: &Path) -> Store {
    let dir = root.join("run").join("rnet");
    Store { lib: dir.clone(), run: dir }
}

/// Entry point: prints `{"ok":true,"value":…}` or `{"ok":false,"error":…}`; 0 or 125.
pub fn run(op: &str, config_json: &str) -> i32 {
    let result = serde_json::from_str::<OpConfig>(config_json)
        .map_err(|e| WireError::invalid_spec("rootless-net config", e.to_string()))
        .and_then(|c| dispatch(op, &c));
    match result {
        Ok(v) => {
            println!("{}", json!({ "ok": true, "value": v }));
            0
        }
        Err(e) => {
            println!("{}", json!({ "ok": false, "error": e }));
            125
        }
    }
}

pub(super) fn dispatch(op: &str, c: &OpConfig) -> Result<Value, WireError> {
    if op == "watch" {
        return super::watch::watch(c);
    }
    let run_dir = c.root.join("run");
    fs::create_dir_all(&run_dir).map_err(|e| errno_fail("mkdir", &run_dir, errno_of(&e)))?;
    let _lock = lock(&run_dir.join("netns.lock"))?;
    let mut holder = find_holder(&c.root);
    let store = store(&c.root);
    let arg = |k: &str| c.args.get(k).and_then(Value::as_str).map(String::from);
    let name = || arg("name").ok_or_else(|| WireError::invalid_spec("name", "missing"));
    let to = |v: Result<Value, serde_json::Error>| v.map_err(|e| fail("ERR_RUNTIME", "encode result", None, e.to_string()));
    match op {
        "create" => {
            let opts: crate::CreateOptions = serde_json::from_value(c.args.clone()).map_err(|e| WireError::invalid_spec("options", e.to_string()))?;
            crate::network::validate_name("name", &opts.name).map_err(net)?;
            let fresh = holder.is_none();
            if fresh {
                holder = Some(start_holder(c)?);
            }
            enter(holder.as_ref().expect("just set"))?;
            if fresh {
                deepen_egress_queue();
            }
            let r = crate::create(&store, &opts).map_err(net);
            // A holder without networks has no reason to live (it was maybe started just now).
            if r.is_err() {
                stop_if_unused(&c.root, &store, holder.as_ref());
            }
            to(serde_json::to_value(r?))
        }
        "ls" => match holder {
            None => Ok(json!([])),
            Some(h) => {
                enter(&h)?;
                to(serde_json::to_value(crate::list(&store).map_err(net)?))
            }
        },
        "inspect" => {
            let n = name()?;
            let h = holder.ok_or_else(|| net(NetError::NotFound { name: n.clone() }))?;
            enter(&h)?;
            to(serde_json::to_value(crate::inspect(&store, &n).map_err(net)?))
        }
        "rm" | "prune" => {
            let Some(h) = holder else {
                return if op == "rm" { Err(net(NetError::NotFound { name: name()? })) } else { Ok(json!([])) };
            };
            enter(&h)?;
            let r = if op == "rm" { crate::remove(&store, &name()?).map(|_| json!(null)) } else { crate::prune(&store).map(|v| json!(v)) };
            // Veths go on reaper threads: all acked before the holder may go.
            crate::teardown::settle();
            stop_if_unused(&c.root, &store, Some(&h));
            r.map_err(net)
        }
        "attach" => {
            let network = arg("network").unwrap_or_default();
            let h = holder.ok_or_else(|| net(NetError::NotFound { name: network }))?;
            let mut v = c.args.clone();
            if let (None, Some(pid)) = (v.get("netns").and_then(Value::as_str), v.get("pid").and_then(Value::as_i64)) {
                v["netns"] = Value::String(format!("/proc/{pid}/ns/net"));
            }
            let opts: crate::AttachOptions = serde_json::from_value(v).map_err(|e| WireError::invalid_spec("options", e.to_string()))?;
            if !opts.ports.is_empty() {
                return Err(WireError::invalid_spec("ports", "attach publishes no ports on a rootless user-defined network: run a container with ports (-p) and its watcher publishes them (watch.rs)"));
            }
            enter(&h)?;
            to(serde_json::to_value(crate::attach(&store, &opts).map_err(net)?))
        }
        "detach" => {
            let Some(h) = holder else { return Ok(json!([])) };
            let opts: crate::DetachOptions = serde_json::from_value(c.args.clone()).map_err(|e| WireError::invalid_spec("options", e.to_string()))?;
            enter(&h)?;
            let r = crate::detach(&store, &opts).map_err(net);
            crate::teardown::settle();
            to(serde_json::to_value(r?))
        }
        "holder" => to(serde_json::to_value(holder)),
        other => Err(WireError::invalid_spec("rootless-net", format!("unknown operation {other:?}"))),
    }
}

pub(super) fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

pub(super) fn lock(path: &Path) -> Result<fs::File, WireError> {
    let f = fs::File::options().create(true).truncate(false).write(true).open(path).map_err(|e| errno_fail("open lock", path, errno_of(&e)))?;
    loop {
        // SAFETY: flock on a descriptor we own; no memory is involved.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(f);
        }
        let errno = Errno::last();
        if errno != Errno::EINTR {
            return Err(errno_fail("flock", path, errno));
        }
    }
}

/// The live holder of the pid file; a stale one (SIGKILLed holder) is cleaned up here.
pub(super) fn find_holder(root: &Path) -> Option<HolderInfo> {
    let file = pid_file(root);
    let text = fs::read_to_string(&file).ok()?;
    if let Ok(h) = serde_json::from_str::<HolderInfo>(&text) {
        if crate::sys::owner_alive(h.holder_pid, h.holder_start) && crate::sys::owner_alive(h.ns_pid, h.ns_start) {
            return Some(h);
        }
    }
    // Its namespaces are gone (the namespace process dies with the holder): so are the bridges,
    // veths and nft table; only files remain.
    forget(root);
    None
}

fn forget(root: &Path) {
    let _ = fs::remove_file(pid_file(root));
    let _ = fs::remove_dir_all(root.join("run").join("rnet"));
    let _ = fs::remove_dir_all(helper_dir(root));
}

fn start_holder(c: &OpConfig) -> Result<HolderInfo, WireError> {
    let (Some(kind), Some(helper)) = (c.kind, c.helper.clone()) else {
        return Err(WireError::invalid_spec("helper", "no egress helper given to start the rootless network holder with"));
    };
    let exe = std::env::current_exe().map_err(|e| errno_fail("find runtime executable", Path::new("/proc/self/exe"), errno_of(&e)))?;
    let config = serde_json::to_string(&HolderConfig { root: c.root.clone(), kind, helper }).unwrap_or_default();
    let mut cmd = Command::new(&exe);
    cmd.args(["net-holder", &config]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe: the holder gets a session of its own (no terminal's ^C).
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| errno_fail("start rootless network holder", &exe, errno_of(&e)))?;
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
    let answer: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    if answer.get("ready").and_then(Value::as_bool) == Some(true) {
        if let Ok(h) = serde_json::from_value::<HolderInfo>(answer["holder"].clone()) {
            return Ok(h);
        }
    }
    let _ = child.wait();
    let msg = answer.get("message").and_then(Value::as_str).unwrap_or("the holder ended without an answer").to_string();
    let code = answer.get("code").and_then(Value::as_str).unwrap_or("ERR_NETWORK_HELPER");
    // The holder's message is already `op(path): CODE: detail` (e.g. pasta's own reason): keep its parts.
    if let Some((head, detail)) = msg.split_once(&format!(": {code}: ")) {
        if let Some((op, path)) = head.strip_suffix(')').and_then(|h| h.split_once('(')) {
            return Err(fail(code, &format!("{op} for the rootless network namespace"), Some(path.into()), detail.into()));
        }
    }
    Err(fail(code, "start rootless network holder", Some(exe.display().to_string()), msg))
}

/// Set once this process is in the holder's namespaces (it cannot enter a user namespace twice, nor
/// once it has threads: the port forwarder of watch.rs has them).
static ENTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// setns into the holder's user namespace, then its network namespace.
pub(super) fn enter(h: &HolderInfo) -> Result<(), WireError> {
    if ENTERED.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    for (file, flag) in [("user", CloneFlags::CLONE_NEWUSER), ("net", CloneFlags::CLONE_NEWNET)] {
        let path = PathBuf::from(format!("/proc/{}/ns/{file}", h.ns_pid));
        let fd = open(&path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| errno_fail("open rootless network namespace", &path, e))?;
        // The pid could have been reused between the check and the open: check it again.
        if !crate::sys::owner_alive(h.ns_pid, h.ns_start) {
            return Err(fail("ESRCH", "open rootless network namespace", Some(path.display().to_string()), "the holder's namespace process is gone".into()));
        }
        setns(&fd, flag).map_err(|e| errno_fail("setns", &path, e))?;
    }
    ENTERED.store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// Stops the holder once no network is left (SIGTERM, SIGKILL after 3 s) and forgets it.
fn stop_if_unused(root: &Path, store: &Store, h: Option<&HolderInfo>) {
    if store.networks().map(|n| !n.is_empty()).unwrap_or(true) {
        return;
    }
    if let Some(h) = h.filter(|h| crate::sys::owner_alive(h.holder_pid, h.holder_start)) {
        let pidfd = pidfd_open(h.holder_pid).ok();
        let pid = nix::unistd::Pid::from_raw(h.holder_pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(3);
        while crate::sys::owner_alive(h.holder_pid, h.holder_start) && Instant::now() < end {
            if let Some(fd) = &pidfd {
                let mut fds = [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(fd), nix::poll::PollFlags::POLLIN)];
                let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(50u8));
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if crate::sys::owner_alive(h.holder_pid, h.holder_start) {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
    forget(root);
}

/// The egress helper's tap in the holder's namespace gets a 10000-packet transmit queue (default
/// 1000). Its traffic is *forwarded* from the bridges, so no local socket feels the queue fill up
/// (TCP small queues only pace a namespace's own sockets): the helper drains the tap in bursts, a
/// 1000-packet queue overflows, and a container's upload collapsed to 40–170 Mbit/s with ~2000
/// retransmits in 2 s; with 10000, 3.3 Gbit/s and none (iperf3 in the throwaway namespace). The cost
/// is latency under load: at most the queue's drain time (10000 × 1500 B at 3 Gbit/s ≈ 40 ms).
/// Best effort: egress works without it, only slower.
fn deepen_egress_queue() {
    let Ok(mut nl) = crate::netlink::Netlink::open() else { return };
    for l in crate::link::list_links(&mut nl).unwrap_or_default() {
        if l.kind.as_deref() == Some("tun") {
            let _ = crate::link::set_txqlen(&mut nl, l.index, &l.name, 10_000);
        }
    }
}
