//! `run` and `create`. `create` is runc's (no monitor: the container waits on its exec fifo for
//! `start`) unless our own callers ask for the monitor with `--monitor`; nsbox's flags
//! (`--config-fd/--control-fd`, `--name`, `--rm`, `-i`, `--log-max-size`, `--die-with`) need the monitor, and
//! runc's process-model flags (`--pid-file`, `--console-socket`, `--preserve-fds`) need its absence.

use std::path::PathBuf;

use nsbox_container::ops::CreateArgs;
use nsbox_container::spec::RunArgs;
use nsbox_monitor::detach::DetachOpts;
use nsbox_monitor::logs::DEFAULT_MAX_SIZE;

use super::flags::{flag, number, parse, valued, Flag, Given};
use super::Cmd;

const OURS: [&str; 7] = ["--config-fd", "--control-fd", "--name", "--rm", "--interactive", "--log-max-size", "--die-with"];
const RUNC_ONLY: [&str; 3] = ["--pid-file", "--console-socket", "--preserve-fds"];

const FLAGS: &[Flag] = &[
    valued(&["--bundle", "-b"]),
    valued(&["--config-fd"]),
    valued(&["--control-fd"]),
    flag(&["--no-new-keyring"]),
    flag(&["--no-pivot"]),
    valued(&["--name"]),
    flag(&["--rm"]),
    flag(&["--interactive", "-i"]),
    valued(&["--log-max-size"]),
    valued(&["--die-with"]),
    valued(&["--pid-file"]),
    valued(&["--console-socket"]),
    valued(&["--preserve-fds"]),
    flag(&["--monitor"]),
    flag(&["--detach", "-d"]),
];

fn fd(g: &Given, name: &str) -> Result<Option<i32>, String> {
    g.value(name).map(|v| v.parse::<i32>().map_err(|_| format!("{name}: {v:?} is not a file descriptor"))).transpose()
}

fn run_args(g: &Given) -> Result<RunArgs, String> {
    if g.on("--no-pivot") {
        return Err("--no-pivot is not supported: nsbox always uses pivot_root (a rootfs on a ramfs cannot be a container root here)".into());
    }
    g.exactly(1, "a container id")?;
    Ok(RunArgs {
        id: g.positional[0].clone(),
        bundle: g.value("--bundle").map(PathBuf::from),
        config_fd: fd(g, "--config-fd")?,
        control_fd: fd(g, "--control-fd")?,
        root: None,
        no_new_keyring: g.on("--no-new-keyring"),
    })
}

fn detach_opts(g: &Given, create: bool) -> Result<DetachOpts, String> {
    Ok(DetachOpts {
        root: None,
        name: g.value("--name"),
        auto_remove: g.on("--rm"),
        log_max_size: number::<u64>(g, "--log-max-size")?.unwrap_or(DEFAULT_MAX_SIZE),
        create,
        stdin: g.on("--interactive"),
        die_with: number::<i32>(g, "--die-with")?,
    })
}

fn refuse(g: &Given, names: &[&str], why: &str) -> Result<(), String> {
    match names.iter().find(|n| g.has(n)) {
        Some(n) => Err(format!("{n} {why}")),
        None => Ok(()),
    }
}

/// `run [-d] …`: foreground, or detached under our monitor (`-d`, or any of our monitor's flags).
pub fn run(args: &[String]) -> Result<Cmd, String> {
    let g = parse("run", args, FLAGS, None)?;
    refuse(&g, &RUNC_ONLY, "is not supported by run (use create and start)")?;
    refuse(&g, &["--monitor"], "is for create")?;
    let run = run_args(&g)?;
    let monitor = g.on("--detach") || ["--name", "--rm", "--interactive", "--log-max-size", "--die-with"].iter().any(|n| g.has(n));
    let detach = if monitor { Some(detach_opts(&g, false)?) } else { None };
    Ok(Cmd::Run(run, detach))
}

pub fn create(args: &[String]) -> Result<Cmd, String> {
    let g = parse("create", args, FLAGS, None)?;
    refuse(&g, &["--detach"], "is for run")?;
    if g.on("--monitor") {
        refuse(&g, &RUNC_ONLY, "is not supported with --monitor (our monitor owns the container's stdio and pid)")?;
        return Ok(Cmd::Run(run_args(&g)?, Some(detach_opts(&g, true)?)));
    }
    refuse(&g, &OURS, "needs --monitor (create without it is runc's: no monitor)")?;
    let run = run_args(&g)?;
    Ok(Cmd::Create(CreateArgs {
        id: run.id,
        bundle: run.bundle,
        root: PathBuf::new(),
        pid_file: g.value("--pid-file").map(PathBuf::from),
        console_socket: g.value("--console-socket").map(PathBuf::from),
        no_new_keyring: run.no_new_keyring,
        preserve_fds: number::<u32>(&g, "--preserve-fds")?.unwrap_or(0),
    }))
}
