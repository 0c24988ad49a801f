//! `nsbox-runtime run`: create the container, start it, supervise it in the foreground, clean up.

use std::path::Path;

use nsbox_core::protocol::FromRuntime;
use nsbox_core::WireError;

use crate::control::Control;
use crate::create::{start, Started};
use crate::error::{ContainerError, Result};
use crate::process::supervise::{self, Relay};
use crate::process::{pty, signals};
use crate::spec::{load_spec, validate_id, Plan, RunArgs};

pub fn run(args: RunArgs) -> i32 {
    let mut control = match args.control_fd.map(Control::from_fd).transpose() {
        Ok(c) => c,
        Err(e) => return report(None, &e.into()),
    };
    match run_container(&args, control.as_mut()) {
        Ok(code) => code,
        Err(e) => report(control.as_mut(), &e),
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

fn run_container(args: &RunArgs, mut control: Option<&mut Control>) -> Result<i32> {
    validate_id(&args.id)?;
    let (spec, bundle) = load_spec(args, control.as_deref_mut())?;
    let mut plan = Plan::from_spec(&spec, Path::new(&bundle))?;
    // A foreground container on an image: its writable layer goes when we return, however we
    // return (its caller, killed, cannot remove it; we see the control socket close and end).
    if let Some(o) = plan.overlay.as_mut() {
        o.volatile = crate::rootfs::overlay::is_layer_of(o, &args.id);
    }
    let _layer = LayerGuard(plan.overlay.clone().map(|o| (o, args.id.clone())));
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
    let _raw_mode = relay.master.as_ref().and_then(|_| pty::RawMode::enter());
    let exit = supervise::run(pid, &sfd, control.as_deref_mut(), &mut relay)?;
    for e in guard.finish() {
        eprintln!("nsbox-runtime: cleanup: {}", e.to_wire());
    }
    if let Some(c) = control {
        c.send(&FromRuntime::Exited { exit_code: exit.code, signal: exit.signal.map(|s| s.as_str().to_string()) });
    }
    Ok(exit.code)
}

/// Removes the container's writable layer (nsbox's overlay annotation) when dropped.
struct LayerGuard(Option<(crate::spec::OverlayRoot, String)>);

impl Drop for LayerGuard {
    fn drop(&mut self) {
        if let Some(e) = self.0.as_ref().and_then(|(o, id)| crate::rootfs::overlay::remove_layer(o, id)) {
            eprintln!("nsbox-runtime: cleanup: {e}");
        }
    }
}
