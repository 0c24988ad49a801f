//! nsbox-runtime's command line: runc's (the contract of go-runc, conmon and containerd's shim)
//! plus our own callers' flags. global.rs: the flags before the command; flags.rs: one command's
//! flags in both `--f v` and `--f=v` forms; create.rs: run/create; exec.rs; ops.rs: the commands
//! on existing containers and the informational ones. Errors are one line, never the usage text.

mod create;
mod exec;
mod flags;
pub mod global;
mod ops;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use nsbox_container::ops::{CreateArgs, ExecArgs};
use nsbox_container::spec::RunArgs;
use nsbox_monitor::detach::DetachOpts;

pub use global::{Global, LogFormat};

pub enum Cmd {
    Version,
    Help,
    /// Ours: `run` (foreground) and `run --detach` / `create --monitor` (under our monitor).
    Run(RunArgs, Option<DetachOpts>),
    /// OCI `create` without a monitor (runc's process model).
    Create(CreateArgs),
    Exec(ExecArgs),
    /// The container, and `--attach` (monitor containers: stay for its output and exit code).
    Start(String, bool),
    Kill { container: String, signal: String, all: bool },
    Pause(String),
    Resume(String),
    Delete(String, bool),
    State(String),
    List { format: String, quiet: bool },
    Ps { container: String, json: bool },
    Events { container: String, stats: bool, interval: Duration },
    Update { container: String, resources: String },
    Features,
    Spec { bundle: PathBuf, rootless: bool },
    Attach(String, bool),
}

pub struct Parsed {
    pub global: Global,
    pub cmd: Cmd,
}

pub fn parse(all: &[String]) -> Result<Parsed, String> {
    let (mut global, at) = global::parse(all)?;
    let Some(name) = all.get(at) else { return Err("a command is required (see nsbox-runtime --help)".into()) };
    // Our callers also pass --root/--json after the command: take them out first.
    let mut rest = Vec::new();
    let mut it = all[at + 1..].iter();
    while let Some(a) = it.next() {
        // exec's command is the container's business from the first positional on.
        if a == "--" || (name == "exec" && !a.starts_with('-')) {
            rest.push(a.clone());
            rest.extend(it.by_ref().cloned());
            break;
        }
        match a.as_str() {
            "--json" => global.json = true,
            "--root" => global.root = Some(PathBuf::from(it.next().ok_or("--root needs a value")?)),
            s if s.starts_with("--root=") => global.root = Some(PathBuf::from(&s[7..])),
            _ => rest.push(a.clone()),
        }
    }
    let cmd = match name.as_str() {
        "--version" | "-v" | "version" => Cmd::Version,
        "--help" | "-h" | "help" => Cmd::Help,
        "run" => create::run(&rest)?,
        "create" => create::create(&rest)?,
        "exec" => exec::exec(&rest)?,
        other => ops::parse(other, &rest)?,
    };
    Ok(Parsed { global, cmd })
}
