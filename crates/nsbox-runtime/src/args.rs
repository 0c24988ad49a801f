//! Command-line parsing for nsbox-runtime (hand-written: the runtime stays small and starts fast).

use std::path::PathBuf;

use nsbox_container::ops::ExecArgs;
use nsbox_container::spec::RunArgs;
use nsbox_monitor::detach::DetachOpts;
use nsbox_monitor::logs::DEFAULT_MAX_SIZE;

pub enum Cmd {
    Version,
    Help,
    Run(RunArgs, Option<DetachOpts>),
    Exec(ExecArgs),
    /// The container, and `--attach`: stay for its output and exit code.
    Start(String, bool),
    Kill(String, String),
    Pause(String),
    Resume(String),
    Delete(String, bool),
    State(String),
    List,
    Attach(String, bool),
    /// The container and `--resources` (a file, or `-` for stdin), as runc's `update`.
    Update(String, Option<String>),
}

pub struct Parsed {
    pub root: Option<PathBuf>,
    pub json: bool,
    pub cmd: Cmd,
}

/// Splits `--flag=value` and hands out values.
struct Args<'a> {
    it: std::slice::Iter<'a, String>,
    inline: Option<String>,
}

impl<'a> Args<'a> {
    fn next_flag(&mut self) -> Option<&'a String> {
        self.inline = None;
        self.it.next()
    }

    fn split(&mut self, a: &'a str) -> &'a str {
        match a.split_once('=') {
            Some((f, v)) if a.starts_with("--") => {
                self.inline = Some(v.to_string());
                f
            }
            _ => a,
        }
    }

    fn value(&mut self, flag: &str) -> Result<String, String> {
        self.inline.take().or_else(|| self.it.next().cloned()).ok_or(format!("{flag} needs a value"))
    }
}

fn fd(flag: &str, v: String) -> Result<i32, String> {
    v.parse::<i32>().map_err(|_| format!("{flag}: {v:?} is not a file descriptor"))
}

pub fn parse(all: &[String]) -> Result<Parsed, String> {
    let mut root = None;
    let mut json = false;
    let mut i = 0;
    while let Some(a) = all.get(i) {
        match a.as_str() {
            "--root" => {
                root = Some(PathBuf::from(all.get(i + 1).ok_or("--root needs a value")?));
                i += 2;
            }
            s if s.starts_with("--root=") => {
                root = Some(PathBuf::from(&s[7..]));
                i += 1;
            }
            "--json" => {
                json = true;
                i += 1;
            }
            _ => break,
        }
    }
    let rest = &all[(i + 1).min(all.len())..];
    let mut a = Args { it: rest.iter(), inline: None };
    let mut positional = Vec::new();
    let cmd_name = all.get(i).map(String::as_str);
    let mut run = RunArgs { id: String::new(), bundle: None, config_fd: None, control_fd: None, root: None, no_new_keyring: false };
    let mut detach: Option<DetachOpts> = None;
    let mut exec = ExecArgs::default();
    let (mut force, mut stdin, mut attach) = (false, true, false);
    let mut signal = None;
    let mut resources = None;
    let mut after_dashdash = false;
    while let Some(raw) = a.next_flag() {
        // exec: everything after the container (or after --) is the command.
        if cmd_name == Some("exec") && positional.len() == 1 && !after_dashdash && raw == "--" {
            after_dashdash = true;
            continue;
        }
        if after_dashdash || (cmd_name == Some("exec") && !positional.is_empty()) {
            positional.push(raw.clone());
            continue;
        }
        let flag = a.split(raw);
        let create = cmd_name == Some("create");
        let d = || DetachOpts { root: None, name: None, auto_remove: false, log_max_size: DEFAULT_MAX_SIZE, create, stdin: false };
        match (cmd_name.unwrap_or(""), flag) {
            (_, "--") => after_dashdash = true,
            (_, "--root") => root = Some(PathBuf::from(a.value(flag)?)),
            (_, "--json") => json = true,
            ("run" | "create", "--bundle" | "-b") => run.bundle = Some(PathBuf::from(a.value(flag)?)),
            ("run" | "create", "--config-fd") => run.config_fd = Some(fd(flag, a.value(flag)?)?),
            ("run" | "create" | "exec", "--control-fd") => {
                let v = fd(flag, a.value(flag)?)?;
                run.control_fd = Some(v);
                exec.control_fd = Some(v);
            }
            ("run", "--detach" | "-d") => detach = Some(detach.take().unwrap_or_else(d)),
            ("run" | "create", "--name") => detach.get_or_insert_with(d).name = Some(a.value(flag)?),
            ("run" | "create", "--rm") => detach.get_or_insert_with(d).auto_remove = true,
            ("run" | "create", "-i" | "--interactive") => detach.get_or_insert_with(d).stdin = true,
            ("run" | "create", "--log-max-size") => {
                let v = a.value(flag)?;
                detach.get_or_insert_with(d).log_max_size = v.parse().map_err(|_| format!("{flag}: {v:?} is not a number of bytes"))?;
            }
            // As runc/crun: keep the caller's session keyring instead of one per container.
            ("run" | "create" | "exec", "--no-new-keyring") => {
                run.no_new_keyring = true;
                exec.no_new_keyring = true;
            }
            ("run" | "create", "--no-pivot") => return Err(format!("{flag} is not supported")),
            ("exec", "-t" | "--tty") => exec.tty = true,
            ("exec", "-i" | "--interactive") => {}
            ("exec", "-e" | "--env") => exec.env.push(a.value(flag)?),
            ("exec", "-w" | "--cwd" | "--workdir") => exec.cwd = Some(a.value(flag)?),
            ("exec", "-u" | "--user") => exec.user = Some(a.value(flag)?),
            ("delete", "-f" | "--force") => force = true,
            ("kill", "-s" | "--signal") => signal = Some(a.value(flag)?),
            ("kill", "-a" | "--all") => {}
            ("attach", "--no-stdin") => stdin = false,
            ("start", "-a" | "--attach") => attach = true,
            ("update", "-r" | "--resources") => resources = Some(a.value(flag)?),
            (_, f) if f.starts_with('-') && f.len() > 1 && !(cmd_name == Some("kill") && positional.len() == 1) => {
                return Err(format!("unknown flag {f}"))
            }
            _ => positional.push(raw.clone()),
        }
    }
    let need = |n: usize, what: &str| -> Result<(), String> {
        if positional.len() < n { Err(format!("{what} is required")) } else { Ok(()) }
    };
    let d_create = || DetachOpts { root: None, name: None, auto_remove: false, log_max_size: DEFAULT_MAX_SIZE, create: true, stdin: false };
    let cmd = match cmd_name {
        Some("--version" | "-v" | "version") => Cmd::Version,
        Some("--help" | "-h" | "help") => Cmd::Help,
        Some("run") => {
            need(1, "a container id")?;
            if positional.len() > 1 {
                return Err(format!("unexpected argument {:?}", positional[1]));
            }
            run.id = positional.remove(0);
            Cmd::Run(run, detach)
        }
        Some("create") => {
            need(1, "a container id")?;
            if positional.len() > 1 {
                return Err(format!("unexpected argument {:?}", positional[1]));
            }
            run.id = positional.remove(0);
            Cmd::Run(run, Some(detach.unwrap_or_else(d_create)))
        }
        Some("start") => {
            need(1, "a container")?;
            Cmd::Start(positional.remove(0), attach)
        }
        Some("exec") => {
            need(2, "a container and a command")?;
            exec.container = positional.remove(0);
            exec.command = positional;
            Cmd::Exec(exec)
        }
        Some("pause") => {
            need(1, "a container")?;
            Cmd::Pause(positional.remove(0))
        }
        Some("resume") => {
            need(1, "a container")?;
            Cmd::Resume(positional.remove(0))
        }
        Some("kill") => {
            need(1, "a container")?;
            let sig = signal.or_else(|| positional.get(1).cloned()).unwrap_or_else(|| "TERM".into());
            Cmd::Kill(positional.remove(0), sig.trim_start_matches('-').to_string())
        }
        Some("delete" | "rm") => {
            need(1, "a container")?;
            Cmd::Delete(positional.remove(0), force)
        }
        Some("state") => {
            need(1, "a container")?;
            Cmd::State(positional.remove(0))
        }
        Some("list" | "ps") => Cmd::List,
        Some("attach") => {
            need(1, "a container")?;
            Cmd::Attach(positional.remove(0), stdin)
        }
        Some("update") => {
            need(1, "a container")?;
            Cmd::Update(positional.remove(0), resources)
        }
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("a command is required".into()),
    };
    Ok(Parsed { root, json, cmd })
}
