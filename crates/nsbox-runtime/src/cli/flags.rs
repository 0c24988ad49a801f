//! One command's flags, as runc's command line (urfave/cli) takes them: `--flag value`,
//! `--flag=value`, `-f value`, booleans as `--flag`, `--flag=true` or `--flag=false`, flags and
//! positionals in any order, `--` ending the flags. Unknown flags are errors (one line).

/// A flag a command accepts: its names (first: the canonical one) and whether it takes a value.
pub struct Flag {
    pub names: &'static [&'static str],
    pub value: bool,
}

pub const fn flag(names: &'static [&'static str]) -> Flag {
    Flag { names, value: false }
}

pub const fn valued(names: &'static [&'static str]) -> Flag {
    Flag { names, value: true }
}

/// What was given: each flag by its canonical name (repeats kept, in order), and the positionals.
#[derive(Debug, Default)]
pub struct Given {
    pub flags: Vec<(&'static str, String)>,
    pub positional: Vec<String>,
}

impl Given {
    /// The last value of a valued flag.
    pub fn value(&self, name: &str) -> Option<String> {
        self.flags.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    }

    /// Every value of a repeatable flag, in order.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.flags.iter().filter(|(n, _)| *n == name).map(|(_, v)| v.clone()).collect()
    }

    /// A boolean flag: its last setting (`--f` is true, `--f=false` false).
    pub fn on(&self, name: &str) -> bool {
        self.value(name).is_some_and(|v| v == "true")
    }

    pub fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| *n == name)
    }

    /// Exactly `n` positionals (named `what` in the error).
    pub fn exactly(&self, n: usize, what: &str) -> Result<(), String> {
        match self.positional.len() {
            k if k < n => Err(format!("{what} is required")),
            k if k > n => Err(format!("unexpected argument {:?}", self.positional[n])),
            _ => Ok(()),
        }
    }
}

/// Parses `args` against `known`. After `raw_after` positionals everything is positional (exec's
/// command, kill's signal, which may look like a flag: `-9`).
pub fn parse(cmd: &str, args: &[String], known: &[Flag], raw_after: Option<usize>) -> Result<Given, String> {
    let mut g = Given::default();
    let mut it = args.iter();
    let mut raw = false;
    while let Some(a) = it.next() {
        if raw || raw_after.is_some_and(|n| g.positional.len() >= n) {
            // `exec C -- CMD`: the `--` right after the container only marks where CMD starts.
            if !raw && a == "--" && raw_after == Some(g.positional.len()) {
                raw = true;
                continue;
            }
            raw = true;
            g.positional.push(a.clone());
            continue;
        }
        if a == "--" {
            raw = true;
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            g.positional.push(a.clone());
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        let Some(f) = known.iter().find(|f| f.names.contains(&name)) else {
            return Err(format!("unknown flag {name} for {cmd}"));
        };
        let canonical = f.names[0];
        let v = if f.value {
            match inline {
                Some(v) => v,
                None => it.next().cloned().ok_or_else(|| format!("{name} needs a value"))?,
            }
        } else {
            match inline.as_deref() {
                None | Some("true") => "true".to_string(),
                Some("false") => "false".to_string(),
                Some(other) => return Err(format!("{name} is a switch: {other:?} is not true or false")),
            }
        };
        g.flags.push((canonical, v));
    }
    Ok(g)
}

/// A flag's value as a number.
pub fn number<T: std::str::FromStr>(g: &Given, name: &str) -> Result<Option<T>, String> {
    g.value(name).map(|v| v.parse::<T>().map_err(|_| format!("{name}: {v:?} is not a number"))).transpose()
}
