//! The commands on existing containers (`start`, `state`, `kill`, `delete`, `pause`, `resume`,
//! `ps`, `events`, `update`, `attach`) and the informational ones (`list`, `features`, `spec`).

use std::path::PathBuf;
use std::time::Duration;

use super::flags::{flag, parse as flags, valued, Flag, Given};
use super::Cmd;

fn one(g: &Given, what: &str) -> Result<String, String> {
    g.exactly(1, what)?;
    Ok(g.positional[0].clone())
}

/// `5s`, `100ms`, `1m`, `2h` or plain seconds.
pub fn duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("--interval: {text:?} is not a duration (as 5s, 100ms, 1m)");
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn format_of(g: &Given) -> Result<String, String> {
    match g.value("--format").as_deref() {
        None | Some("table") => Ok("table".into()),
        Some("json") => Ok("json".into()),
        Some(other) => Err(format!("--format: {other:?} is not table or json")),
    }
}

const NONE: &[Flag] = &[];

pub fn parse(name: &str, args: &[String]) -> Result<Cmd, String> {
    Ok(match name {
        "start" => {
            let g = flags(name, args, &[flag(&["--attach", "-a"])], None)?;
            Cmd::Start(one(&g, "a container")?, g.on("--attach"))
        }
        "state" => Cmd::State(one(&flags(name, args, NONE, None)?, "a container")?),
        "pause" => Cmd::Pause(one(&flags(name, args, NONE, None)?, "a container")?),
        "resume" => Cmd::Resume(one(&flags(name, args, NONE, None)?, "a container")?),
        "kill" => {
            // After the container, the signal may look like a flag (`-9`, as our callers send it).
            let g = flags(name, args, &[flag(&["--all", "-a"]), valued(&["--signal", "-s"])], Some(1))?;
            if g.positional.is_empty() || g.positional.len() > 2 {
                return Err(if g.positional.is_empty() { "a container is required".into() } else { format!("unexpected argument {:?}", g.positional[2]) });
            }
            let signal = g.positional.get(1).cloned().or_else(|| g.value("--signal")).unwrap_or_else(|| "TERM".into());
            Cmd::Kill { container: g.positional[0].clone(), signal: signal.trim_start_matches('-').to_string(), all: g.on("--all") }
        }
        "delete" | "rm" => {
            let g = flags(name, args, &[flag(&["--force", "-f"])], None)?;
            Cmd::Delete(one(&g, "a container")?, g.on("--force"))
        }
        "list" => {
            let g = flags(name, args, &[flag(&["--quiet", "-q"]), valued(&["--format", "-f"])], None)?;
            g.exactly(0, "")?;
            Cmd::List { format: format_of(&g)?, quiet: g.on("--quiet") }
        }
        "ps" => {
            let g = flags(name, args, &[valued(&["--format", "-f"])], Some(1))?;
            if g.positional.len() > 1 {
                return Err("ps: extra ps(1) arguments are not supported".into());
            }
            Cmd::Ps { container: one(&g, "a container")?, json: format_of(&g)? == "json" }
        }
        "events" => {
            let g = flags(name, args, &[flag(&["--stats"]), valued(&["--interval"])], None)?;
            let interval = g.value("--interval").map(|v| duration(&v)).transpose()?.unwrap_or(Duration::from_secs(5));
            Cmd::Events { container: one(&g, "a container")?, stats: g.on("--stats"), interval }
        }
        "update" => {
            let g = flags(name, args, &[valued(&["--resources", "-r"])], None)?;
            let container = one(&g, "a container")?;
            let Some(from) = g.value("--resources") else {
                return Err("update needs --resources FILE (or - for stdin): the other runc update flags are not supported".into());
            };
            let resources = if from == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|e| format!("--resources -: reading stdin: {e}"))?
            } else {
                std::fs::read_to_string(&from).map_err(|e| format!("--resources {from}: {e}"))?
            };
            Cmd::Update { container, resources }
        }
        "features" => {
            flags(name, args, NONE, None)?.exactly(0, "")?;
            Cmd::Features
        }
        "spec" => {
            let g = flags(name, args, &[valued(&["--bundle", "-b"]), flag(&["--rootless"])], None)?;
            g.exactly(0, "")?;
            Cmd::Spec { bundle: PathBuf::from(g.value("--bundle").unwrap_or_else(|| ".".into())), rootless: g.on("--rootless") }
        }
        "attach" => {
            let g = flags(name, args, &[flag(&["--no-stdin"])], None)?;
            Cmd::Attach(one(&g, "a container")?, !g.on("--no-stdin"))
        }
        other => return Err(format!("unknown command {other:?} (see nsbox-runtime --help)")),
    })
}
