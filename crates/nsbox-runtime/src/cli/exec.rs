//! `exec`: runc's `exec [--process FILE] [--detach] [--pid-file F] [--tty] [--console-socket S]
//! [--preserve-fds N] [--cwd D] [--env K=V]… [--user U[:G]] ID [CMD…]`, and our callers'
//! `exec [-t] [-i] [--control-fd N] ID [--] CMD…`.

use std::path::PathBuf;

use nsbox_container::ops::ExecArgs;

use super::flags::{flag, number, parse, valued, Flag};
use super::Cmd;

const FLAGS: &[Flag] = &[
    valued(&["--process", "-p"]),
    flag(&["--detach", "-d"]),
    valued(&["--pid-file"]),
    flag(&["--tty", "-t"]),
    flag(&["--interactive", "-i"]),
    valued(&["--console-socket"]),
    valued(&["--preserve-fds"]),
    valued(&["--cwd", "-w", "--workdir"]),
    valued(&["--env", "-e"]),
    valued(&["--user", "-u"]),
    valued(&["--control-fd"]),
    flag(&["--no-new-keyring"]),
];

pub fn exec(args: &[String]) -> Result<Cmd, String> {
    let g = parse("exec", args, FLAGS, Some(1))?;
    let process_file = g.value("--process").map(PathBuf::from);
    if g.positional.is_empty() {
        return Err("a container is required".into());
    }
    let mut positional = g.positional.clone();
    let container = positional.remove(0);
    match (&process_file, positional.is_empty()) {
        (None, true) => return Err("a command is required (or --process FILE)".into()),
        (Some(_), false) => return Err(format!("unexpected argument {:?}: the command is in --process", positional[0])),
        _ => {}
    }
    let control_fd = match g.value("--control-fd") {
        Some(v) => Some(v.parse::<i32>().map_err(|_| format!("--control-fd: {v:?} is not a file descriptor"))?),
        None => None,
    };
    if control_fd.is_some() && (g.on("--detach") || g.has("--pid-file") || g.has("--console-socket")) {
        return Err("--control-fd is not supported with --detach, --pid-file or --console-socket".into());
    }
    Ok(Cmd::Exec(ExecArgs {
        root: None,
        container,
        command: positional,
        tty: g.on("--tty"),
        env: g.values("--env"),
        cwd: g.value("--cwd"),
        user: g.value("--user"),
        control_fd,
        no_new_keyring: g.on("--no-new-keyring"),
        process_file,
        detach: g.on("--detach"),
        pid_file: g.value("--pid-file").map(PathBuf::from),
        console_socket: g.value("--console-socket").map(PathBuf::from),
        preserve_fds: number::<u32>(&g, "--preserve-fds")?.unwrap_or(0),
    }))
}
