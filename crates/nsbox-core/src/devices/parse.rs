//! The one parser for device options, shared by the CLI path and OCI conversion. Pure: nothing here
//! touches the filesystem (the host node's stat() is `host::stat_device`), so every branch is
//! unit-tested.
//!
//! - access strings: a non-empty subset of `rwm`, each letter at most once;
//! - docker's `--device HOST[:CONTAINER][:PERMS]`;
//! - docker's `--device-cgroup-rule 'TYPE MAJOR:MINOR PERMS'`.

use std::fmt;
use std::str::FromStr;

use super::error::{DeviceRuleError, Result};
use super::rule::{Access, DevNum, DeviceKind, DeviceRule};

/// `rwm`, `r`, `mw`, ... Errors (empty, other letters, repeats) read `invalid device mode: X`, as
/// podman and docker print them.
pub fn parse_access(s: &str) -> Result<Access> {
    let bad = || DeviceRuleError::invalid("access", format!("invalid device mode: {s}"));
    let mut bits = 0u8;
    for c in s.chars() {
        let (bit, _) = Access::LETTERS.iter().find(|(_, l)| *l == c).ok_or_else(bad)?;
        if bits & bit.bits() != 0 {
            return Err(bad());
        }
        bits |= bit.bits();
    }
    Access::from_bits(bits).ok_or_else(bad)
}

impl FromStr for Access {
    type Err = DeviceRuleError;
    fn from_str(s: &str) -> Result<Access> {
        parse_access(s)
    }
}

/// What `--device` asks for: expose the host's node at `container` with cgroup access `access`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    pub host: String,
    pub container: String,
    pub access: Access,
}

/// Always the full `HOST:CONTAINER:PERMS`, which parses back to the same mapping.
impl fmt::Display for DeviceMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.host, self.container, self.access)
    }
}

/// docker's `--device` (`/dev/loop0`, `/dev/loop0:/dev/xvdc`, `/dev/loop0:rw`,
/// `/dev/loop0:/dev/xvdc:r`). As in podman's parser a two-part value is a mode when it parses as
/// one and a container path when it starts with `/`; anything else is a bad mode. Unlike docker we
/// also require absolute paths on both sides, because a relative one would be resolved against
/// whatever directory the runtime happens to run in.
pub fn parse_device(s: &str) -> Result<DeviceMapping> {
    let spec = || DeviceRuleError::invalid("--device", format!("invalid device specification: {s}"));
    let mode = |m: &str| parse_access(m).map_err(|_| DeviceRuleError::invalid("--device", format!("invalid device mode: {m}")));
    let parts: Vec<&str> = s.split(':').collect();
    let (host, container, access) = match parts[..] {
        [host] => (host, host, Access::RWM),
        [host, second] => match parse_access(second) {
            Ok(access) => (host, host, access),
            Err(_) if second.starts_with('/') => (host, second, Access::RWM),
            Err(_) => return Err(DeviceRuleError::invalid("--device", format!("invalid device mode: {second}"))),
        },
        [host, container, m] => {
            if !container.starts_with('/') {
                return Err(spec());
            }
            (host, container, mode(m)?)
        }
        _ => return Err(spec()),
    };
    if !host.starts_with('/') || !container.starts_with('/') {
        return Err(spec());
    }
    Ok(DeviceMapping { host: host.to_string(), container: container.to_string(), access })
}

impl FromStr for DeviceMapping {
    type Err = DeviceRuleError;
    fn from_str(s: &str) -> Result<DeviceMapping> {
        parse_device(s)
    }
}

fn parse_num(s: &str) -> Option<DevNum> {
    if s == "*" {
        return Some(DevNum::Any);
    }
    // u32::from_str also takes a leading '+', which neither docker's regex nor the kernel takes.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().map(DevNum::Num)
}

/// docker's `--device-cgroup-rule` (`c 1:3 rwm`, `b 7:* r`, `a *:* m`): an allow rule. The
/// grammar is docker's regex `^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$` with numbers limited to
/// the kernel's u32 and each access letter at most once; errors keep docker's text.
pub fn parse_cgroup_rule(s: &str) -> Result<DeviceRule> {
    let bad = || DeviceRuleError::invalid("--device-cgroup-rule", format!("invalid device cgroup format '{s}'"));
    let fields: Vec<&str> = s.split(' ').collect();
    let [kind, numbers, access] = fields[..] else { return Err(bad()) };
    let kind = match kind {
        "a" => DeviceKind::All,
        "b" => DeviceKind::Block,
        "c" => DeviceKind::Char,
        _ => return Err(bad()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    Ok(DeviceRule {
        kind,
        major: parse_num(major).ok_or_else(bad)?,
        minor: parse_num(minor).ok_or_else(bad)?,
        access: parse_access(access).map_err(|_| bad())?,
        allow: true,
    })
}

impl FromStr for DeviceRule {
    type Err = DeviceRuleError;
    /// The `--device-cgroup-rule` form: always an allow rule.
    fn from_str(s: &str) -> Result<DeviceRule> {
        parse_cgroup_rule(s)
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
