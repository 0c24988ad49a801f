//! `nsbox-runtime run`: create the container, start it, supervise it in the foreground, clean up.

use std::path::Path;

use nsbox_core::protocol::FromRuntime;
use nsbox_core::WireError;

use crate::control::Control;
use crate::create::{start, Started};
use crate::error::{ContainerError, Result};
use crate::process::supervise::{self, Relay};
use crate::process::{pty, signals};
use crate::rootfs::layer::Moved;
use crate::spec::{load_spec, validate_id, Plan, RunArgs};

pub fn run(args: RunArgs) -> i32 {
    let mut control = match args.control_fd.map(Control::from_fd).transpose() {
        Ok(c) => c,
        Err(e) => return report(None, &e.into()),
    };
    match run_container(&args, control.as_mut()) {
        Ok((code, None)) => code,
        Ok((code, Some(layer))) => {
            // The caller's run is over once our control socket and stdio close after `exited`
            // (ts/src/runtime-process.ts); the layer, already out of the store's containers/, is
            // deleted after that (rootfs/layer.rs says why). A failure leaves it in removing/ for
            // the store's next open: no one is left to tell.
            drop(control);
            detach_stdio();
            background_priority();
            let _ = layer.remove();
            code
        }
        Err(e) => report(control.as_mut(), &e),
    }
}

/// What is left to do mostly waits on the disk (rootfs/layer.rs); the CPU it needs goes to whatever
/// our caller does next (the next container's start) first. Not the idle I/O class: the deletion
/// would then wait behind every build's writeback, for seconds.
fn background_priority() {
    // SAFETY: a plain syscall on our own process; failure leaves our priority as it was.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
}

/// /dev/null on 0, 1 and 2: the caller's pipes (and terminal) are ours no more.
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors from one we own, valid for the call.
            unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd) };
        }
    }
}

pub fn report(control: Option<&mut Control>, e: &ContainerError) -> i32 {
    report_wire(control, &e.to_wire(), e.exit_code())
}

/// The failure to the caller: on the control socket when there is one, else on stderr. Returns
/// the exit code to leave with.
pub fn report_wire(control: Option<&mut Control>, e: &WireError, exit_code: i32) -> i32 {
    match control {
        Some(c) => c.error(e, exit_code),
        None => eprintln!("nsbox-runtime: {e}"),
    }
    exit_code
}

fn run_container(args: &RunArgs, mut control: Option<&mut Control>) -> Result<(i32, Option<Moved>)> {
    validate_id(&args.id)?;
    let (spec, bundle) = load_spec(args, control.as_deref_mut())?;
    let mut plan = Plan::from_spec(&spec, Path::new(&bundle))?;
    // A foreground container on an image: its writable layer goes when we return, however we
    // return (its caller, killed, cannot remove it; we see the control socket close and end).
    if let Some(o) = plan.overlay.as_mut() {
        o.volatile = crate::rootfs::layer::is_layer_of(o, &args.id);
    }
    let mut layer = LayerGuard(plan.overlay.clone().map(|o| (o, args.id.clone())));
    plan.state_root.clone_from(&args.root);
    // A run of this id SIGKILLed before us left its cgroups recorded: they go now, or ours would
    // collide with them.
    if let Some(root) = &args.root {
        crate::state::cgroup_record::reap(root, &args.id);
    }
    plan.new_keyring = !args.no_new_keyring;
    let sfd = signals::block_and_open()?;
    let Started { pid, guard, master, pipes, .. } = start(&args.id, &plan, control.as_deref_mut())?;
    if let Some(c) = control.as_deref_mut() {
        c.send(&FromRuntime::Started { id: args.id.clone(), pid: pid.as_raw() });
    }
    let mut relay = Relay::new(master, pipes);
    let raw_mode = relay.master.as_ref().and_then(|_| pty::RawMode::enter());
    let exit = supervise::run(pid, &sfd, control.as_deref_mut(), &mut relay)?;
    for e in guard.finish() {
        eprintln!("nsbox-runtime: cleanup: {}", e.to_wire());
    }
    drop(raw_mode);
    // Out of the store's containers/ before the caller hears `exited`; deleted once it stopped
    // listening (run above). Without a control socket our caller waits for our exit anyway.
    let moved = match control.is_some().then(|| layer.take()).flatten() {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            eprintln!("nsbox-runtime: cleanup: {e}");
            None
        }
        None => None,
    };
    if let Some(c) = control {
        c.send(&FromRuntime::Exited { exit_code: exit.code, signal: exit.signal.map(|s| s.as_str().to_string()) });
    }
    Ok((exit.code, moved))
}

/// Removes the container's writable layer (nsbox's overlay annotation) when dropped, unless taken.
struct LayerGuard(Option<(crate::spec::OverlayRoot, String)>);

impl LayerGuard {
    /// The layer moved out of the store's containers/ (or removed now: Ok(None)), for the caller
    /// to delete; the guard no longer removes it.
    fn take(&mut self) -> Option<std::result::Result<Option<Moved>, String>> {
        self.0.take().map(|(o, id)| crate::rootfs::layer::take_layer(&o, &id))
    }
}

impl Drop for LayerGuard {
    fn drop(&mut self) {
        if let Some(e) = self.0.as_ref().and_then(|(o, id)| crate::rootfs::layer::remove_layer(o, id)) {
            eprintln!("nsbox-runtime: cleanup: {e}");
        }
    }
}
