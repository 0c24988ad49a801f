//! The OCI-style commands on existing containers: `state`, `list`, `kill`, `delete`. They work
//! from state.json alone, so they are right whichever process started the container and whether
//! or not its monitor still lives.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nsbox_core::error::errno_name;
use nsbox_core::WireError;

use nsbox_cgroups::{kill_cgroup, remove_cgroup};

use crate::error::{rule_wire, sys_wire, Result};
use crate::state::{self, Root, State, OCI_MODE};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{op}({path}): {}: {}", errno_name(*errno), errno.desc())]
    Sys { op: &'static str, path: String, errno: Errno },
    #[error("parse signal(): ERR_BAD_SIGNAL: invalid signal: {text}")]
    BadSignal { text: String },
    #[error("kill(): ERR_NOT_RUNNING: container {name} is not running")]
    NotRunning { name: String },
    /// As docker: a frozen process takes no signal until thawed, so killing waits for `resume`.
    #[error("kill(): ERR_PAUSED: container {name} is paused: resume (unpause) it before stopping or killing it")]
    Paused { name: String },
    #[error("delete(): ERR_IS_RUNNING: container {name} is {status}: stop it first or use --force")]
    IsRunning { name: String, status: String },
    /// delete carries on past failures: every one of them, joined.
    #[error("delete({id}): ERR_RUNTIME: {}", errors.join("; "))]
    Delete { id: String, errors: Vec<String> },
}

impl OpsError {
    pub fn to_wire(&self) -> WireError {
        match self {
            OpsError::Sys { op, path, errno } => sys_wire(op, path, *errno, errno.desc()),
            OpsError::BadSignal { text } => rule_wire("ERR_BAD_SIGNAL", "parse signal", "", &format!("invalid signal: {text}")),
            OpsError::NotRunning { name } => rule_wire("ERR_NOT_RUNNING", "kill", "", &format!("container {name} is not running")),
            OpsError::Paused { name } => rule_wire(
                "ERR_PAUSED",
                "kill",
                "",
                &format!("container {name} is paused: resume (unpause) it before stopping or killing it"),
            ),
            OpsError::IsRunning { name, status } => rule_wire(
                "ERR_IS_RUNNING",
                "delete",
                "",
                &format!("container {name} is {status}: stop it first or use --force"),
            ),
            OpsError::Delete { id, errors } => rule_wire("ERR_RUNTIME", "delete", id, &errors.join("; ")),
        }
    }
}

/// `SIGTERM`, `TERM`, `term` or `15`; `0` (None) only checks that the process is there.
pub fn parse_signal(text: &str) -> std::result::Result<Option<Signal>, OpsError> {
    let bad = || OpsError::BadSignal { text: text.to_string() };
    if let Ok(n) = text.parse::<i32>() {
        return if n == 0 { Ok(None) } else { Signal::try_from(n).map(Some).map_err(|_| bad()) };
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    name.parse::<Signal>().map(Some).map_err(|_| bad())
}

/// The OCI `state` of one container, as crun prints it: ociVersion, id, status (creating,
/// created, running, paused, stopped), pid (0 once stopped), bundle, rootfs, created, owner and the
/// config's annotations. Our own fields are in state.json (and `list`).
pub fn state(root: &Root, reference: &str) -> Result<String> {
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    let status = match st.live_status() {
        s @ ("creating" | "created" | "running" | "paused") => s,
        _ => "stopped",
    };
    let pid = if status == "stopped" { 0 } else { st.pid.unwrap_or(0) };
    let config = root.dir_of(&id).join("config.json");
    let annotations = std::fs::read_to_string(&config)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("annotations").cloned())
        .unwrap_or_else(|| serde_json::json!({}));
    let owner = std::fs::metadata(root.dir_of(&id)).map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
    let v = serde_json::json!({
        "ociVersion": "1.2.0", "id": st.id, "pid": pid, "status": status, "bundle": st.bundle,
        "rootfs": st.rootfs, "created": st.created_at, "owner": owner_name(owner), "annotations": annotations,
    });
    Ok(serde_json::to_string_pretty(&v).unwrap_or_default())
}

fn owner_name(uid: u32) -> String {
    nix::unistd::User::from_uid(uid.into()).ok().flatten().map(|u| u.name).unwrap_or_else(|| uid.to_string())
}

/// `list`: runc's table (ID PID STATUS BUNDLE CREATED OWNER), `-q` ids only, or `--format json`
/// (an array of the OCI state of each container).
pub fn list(root: &Root, format: &str, quiet: bool) -> String {
    let mut ids = root.ids();
    ids.sort();
    if quiet {
        return ids.iter().map(|i| format!("{i}\n")).collect();
    }
    let states: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| match state(root, id).ok().and_then(|t| serde_json::from_str(&t).ok()) {
            Some(v) => v,
            // A directory without readable state: a creation that was cut short.
            None => serde_json::json!({ "ociVersion": "1.2.0", "id": id, "pid": 0, "status": "stopped" }),
        })
        .collect();
    if format == "json" {
        return format!("{}\n", serde_json::Value::Array(states));
    }
    let mut out = String::from("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
    for v in states {
        let f = |k: &str| v.get(k).map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).unwrap_or_default();
        out.push_str(&format!("{}\t{}\t{}\t{}\t{}\t{}\n", f("id"), f("pid"), f("status"), f("bundle"), f("created"), f("owner")));
    }
    out
}

/// pidfd_open + pidfd_send_signal: the signal reaches exactly the process we checked, even if its
/// pid were reused in between.
fn signal_exact(pid: i32, start: Option<u64>, sig: Option<Signal>) -> Result<bool> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Ok(false);
    }
    // SAFETY: the kernel just gave us this descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    if !state::alive(Some(pid), start) {
        return Ok(false);
    }
    // SAFETY: pidfd_send_signal with a valid pidfd, a signal number, no siginfo, no flags.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), sig.map_or(0, |s| s as i32), std::ptr::null::<libc::siginfo_t>(), 0) };
    match Errno::result(r) {
        Ok(_) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(errno) => Err(OpsError::Sys { op: "pidfd_send_signal", path: format!("pid {pid}"), errno }.into()),
    }
}

/// Sends `signal` to the container's first process, or with `all` to every process in its cgroups.
pub fn kill(root: &Root, reference: &str, signal: &str, all: bool) -> Result<()> {
    let sig = parse_signal(signal)?;
    let id = root.find(reference)?;
    let st = root.read(&id)?;
    let not_running = || OpsError::NotRunning { name: st.name.clone() };
    let status = st.live_status();
    // A frozen process takes no signal until thawed; our own callers are told to resume first
    // (docker's rule), while engines queue the signal and thaw themselves, as with runc.
    if status == "paused" && st.mode != OCI_MODE {
        return Err(OpsError::Paused { name: st.name.clone() }.into());
    }
    if !matches!(status, "running" | "created" | "paused") {
        return Err(not_running().into());
    }
    // docker's `kill` event, for a signal (0 only asks whether it runs). Recorded before it is
    // sent, as docker does: a SIGKILL's `exit` follows it in the log.
    if let Some(s) = sig {
        root.event_with("kill", &st, &[("signal", serde_json::json!(s.as_str()))]);
    }
    if all && !st.cgroups.is_empty() {
        let dirs: Vec<std::path::PathBuf> = st.cgroups.iter().map(std::path::PathBuf::from).collect();
        nsbox_cgroups::stats::signal_all(&dirs, sig);
        return Ok(());
    }
    match st.pid {
        Some(pid) if signal_exact(pid, st.pid_start_time, sig)? => Ok(()),
        _ => Err(not_running().into()),
    }
}

/// Removes a container. Without `force` it must not be running; with it, the container and
/// everything in its cgroups is killed first. Carries on past failures and reports them all.
pub fn delete(root: &Root, reference: &str, force: bool) -> Result<()> {
    let id = match root.find(reference) {
        Ok(id) => id,
        // No container, but the cgroups of a foreground `run` of this id that was SIGKILLed.
        Err(_) if state::cgroup_record::reap(&root.dir, reference) => return Ok(()),
        // As runc and crun: forcing away what is not there succeeds.
        Err(e) if force && e.to_wire().code == crate::state::NO_SUCH => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let st = match root.read(&id) {
        Ok(st) => st,
        // No state: a creation cut short (or a removal racing us). The directory still goes.
        Err(_) if force => State { id: id.clone(), ..State::default() },
        Err(e) => return Err(e.into()),
    };
    let status = st.live_status().to_string();
    // runc deletes a created (never started) container without --force: engines rely on it.
    let oci_created = st.mode == OCI_MODE && status == "created";
    if matches!(status.as_str(), "running" | "created" | "paused" | "creating") && !force && !oci_created {
        return Err(OpsError::IsRunning { name: st.name, status }.into());
    }
    let mut errors = Vec::new();
    if status == "paused" {
        super::pause::thaw(&st);
    }
    if let Some(pid) = st.pid {
        let _ = signal_exact(pid, st.pid_start_time, Some(Signal::SIGKILL));
    }
    // Read before the directory goes: poststop runs once the container is deleted.
    let plan = super::saved_plan(root, &id, &st).map(|(p, _)| p);
    let poststop = plan.as_ref().map(|p| (p.hooks.poststop().clone().unwrap_or_default(), p.hook_state(&id, "stopped", 0)));
    for dir in &st.cgroups {
        kill_cgroup(Path::new(dir));
    }
    // A live monitor sees the exit, records it and removes the cgroups; give it a moment so the
    // exit lands in events.jsonl, but do not depend on it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while state::alive(st.monitor_pid, st.monitor_start_time) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    for dir in st.cgroups.iter().rev() {
        if let Err(e) = remove_cgroup(Path::new(dir)) {
            errors.push(e.to_string());
        }
    }
    errors.extend(nsbox_cgroups::remove_parents(&st.cgroups_parents).iter().map(|e| e.to_string()));
    // A monitor SIGKILLed at the wrong moment leaves its record too.
    state::cgroup_record::reap(&root.dir, &id);
    let name = if st.name.is_empty() { name_of(root, &id) } else { st.name.clone() };
    let existed = root.dir_of(&id).exists();
    errors.extend(root.remove(&id, &name).iter().map(|e| e.to_string()));
    // An image's container: its writable layer (nsbox's overlay annotation) goes with it.
    errors.extend(plan.as_ref().and_then(|p| p.overlay.as_ref()).and_then(|o| crate::rootfs::layer::remove_layer(o, &id)));
    if existed {
        root.event("remove", &State { name, ..st });
    }
    if let Some((hooks, state)) = poststop {
        for e in crate::create::hooks::run_all("poststop", &hooks, &state) {
            eprintln!("nsbox-runtime: warning: {e}");
        }
    }
    match errors.len() {
        0 => Ok(()),
        _ => Err(OpsError::Delete { id, errors }.into()),
    }
}

fn name_of(root: &Root, id: &str) -> String {
    let Ok(rd) = std::fs::read_dir(root.dir.join("names")) else { return String::new() };
    rd.filter_map(|e| e.ok())
        .find(|e| std::fs::read_to_string(e.path()).map(|c| c.trim() == id).unwrap_or(false))
        .and_then(|e| e.file_name().into_string().ok())
        .unwrap_or_default()
}
