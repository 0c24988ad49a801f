//! nsbox-runtime: a small, single-threaded OCI runtime. The Node library spawns it to create
//! containers, because namespaces cannot safely be entered from a multithreaded process.

mod cgroup;
mod child;
mod control;
mod devices;
mod error;
mod idmaps;
mod init;
mod lo;
mod masks;
mod plan;
mod process;
mod pty;
mod rootfs;
mod run;
mod signals;
mod supervise;
mod sync;
mod syscalls;

use std::path::PathBuf;

const USAGE: &str = "usage: nsbox-runtime run [--bundle DIR] [--config-fd N --control-fd N] ID
       nsbox-runtime --version

Runs an OCI bundle (config.json per the runtime-spec) in the foreground, like `crun run`.
With --control-fd the caller gets length-prefixed JSON frames (docs/protocol.md).
Exit status: the container's; 125 runtime error; 126 cannot execute; 127 not found.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(dispatch(&args));
}

fn dispatch(args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        Some("--version") | Some("-v") | Some("version") => {
            println!("nsbox-runtime version {}\nspec: 1.2.0", env!("CARGO_PKG_VERSION"));
            0
        }
        Some("--help") | Some("-h") | Some("help") => {
            println!("{USAGE}");
            0
        }
        Some("run") => match parse_run(&args[1..]) {
            Ok(a) => run::run(a),
            Err(msg) => usage_error(&msg),
        },
        Some(other) => usage_error(&format!("unknown command {other:?}")),
        None => usage_error("a command is required"),
    }
}

fn usage_error(msg: &str) -> i32 {
    eprintln!("nsbox-runtime: {msg}\n{USAGE}");
    125
}

fn parse_run(args: &[String]) -> Result<run::RunArgs, String> {
    let mut out = run::RunArgs { id: String::new(), bundle: None, config_fd: None, control_fd: None };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if a.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned()).ok_or(format!("{flag} needs a value"));
        let fd = |v: String| v.parse::<i32>().map_err(|_| format!("{flag}: {v:?} is not a file descriptor"));
        match flag {
            "--bundle" | "-b" => out.bundle = Some(PathBuf::from(value()?)),
            "--config-fd" => out.config_fd = Some(fd(value()?)?),
            "--control-fd" => out.control_fd = Some(fd(value()?)?),
            // Accepted for compatibility with crun/runc callers; we never detach in `run`.
            "--detach" | "-d" | "--no-pivot" | "--no-new-keyring" => return Err(format!("{flag} is not supported")),
            f if f.starts_with('-') => return Err(format!("unknown flag {f}")),
            id if out.id.is_empty() => out.id = id.to_string(),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    if out.id.is_empty() {
        return Err("a container id is required".into());
    }
    Ok(out)
}
