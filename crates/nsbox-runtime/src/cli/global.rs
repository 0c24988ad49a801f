//! The flags before the command (runc's global flags, and ours): `--root DIR`, `--log FILE`,
//! `--log-format text|json`, `--systemd-cgroup` (refused: there is no systemd cgroup driver
//! here), `--debug`, `--rootless[=true|false|auto]`, and `--json` (ours: errors as wire JSON).

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Default)]
pub struct Global {
    pub root: Option<PathBuf>,
    pub json: bool,
    pub log: Option<PathBuf>,
    pub log_format: LogFormat,
    pub debug: bool,
    /// As given; nsbox decides rootless from its own euid whatever this says (runc's `auto`).
    pub rootless: Option<String>,
}

/// Reads the global flags from the front of `args`; returns them and where the command starts.
/// `--root` and `--json` are also taken after the command (older callers of ours pass them there).
pub fn parse(args: &[String]) -> Result<(Global, usize), String> {
    let mut g = Global::default();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let value = |i: &mut usize| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => {
                    *i += 1;
                    args.get(*i).cloned().ok_or_else(|| format!("{name} needs a value"))
                }
            }
        };
        match name {
            "--root" => g.root = Some(PathBuf::from(value(&mut i)?)),
            "--log" => g.log = Some(PathBuf::from(value(&mut i)?)),
            "--log-format" => {
                g.log_format = match value(&mut i)?.as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    other => return Err(format!("--log-format: {other:?} is not text or json")),
                }
            }
            "--json" => g.json = true,
            "--debug" => g.debug = inline.as_deref() != Some("false"),
            "--systemd-cgroup" if inline.as_deref() == Some("false") => {}
            "--systemd-cgroup" => {
                return Err("--systemd-cgroup: nsbox-runtime has no systemd cgroup driver: use cgroupfs (podman cgroup_manager = \"cgroupfs\", containerd SystemdCgroup = false)".into())
            }
            "--rootless" => {
                let v = match (&inline, args.get(i + 1).map(String::as_str)) {
                    (Some(v), _) => v.clone(),
                    (None, Some(v @ ("true" | "false" | "auto"))) => {
                        i += 1;
                        v.to_string()
                    }
                    _ => "true".to_string(),
                };
                if !matches!(v.as_str(), "true" | "false" | "auto") {
                    return Err(format!("--rootless: {v:?} is not true, false or auto"));
                }
                g.rootless = Some(v);
            }
            _ => break,
        }
        i += 1;
    }
    Ok((g, i))
}
