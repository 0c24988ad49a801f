//! cgroup v1: a rule list becomes writes to a devices cgroup directory's `devices.deny` and
//! `devices.allow`, then `devices.list` is read back to check the kernel holds what we meant.
//!
//! The kernel parses one rule per write(), so every rule is its own write and a failure names the
//! rule's file and errno (EINVAL: malformed or `a` while the cgroup has children; EPERM: the parent
//! cgroup does not allow what the rule allows, since a child can never widen its parent's list).

use std::io::Write;
use std::path::Path;

use super::error::{DeviceCgroupError, Result};
use nsbox_core::devices::{Access, DevNum, DeviceKind, DeviceRule};

const ALLOW: &str = "devices.allow";
const DENY: &str = "devices.deny";
const LIST: &str = "devices.list";

/// Applies `rules` to the v1 devices cgroup `dir`: `a` to `devices.deny` first (the list starts
/// from deny-all and drops whatever the cgroup held), then each rule in order to `devices.allow` or
/// `devices.deny`, then verifies `devices.list`.
pub fn apply_v1(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    write_rule(dir, DENY, "a")?;
    for rule in rules {
        write_rule(dir, if rule.allow { ALLOW } else { DENY }, &rule.to_string())?;
    }
    let found = read_list(dir)?;
    let expected = expected_list(rules);
    if found != expected {
        return Err(DeviceCgroupError::Mismatch {
            op: "verify devices.list",
            path: dir.join(LIST).display().to_string(),
            expected: expected.join("; "),
            found: found.join("; "),
        });
    }
    Ok(())
}

fn write_rule(dir: &Path, file: &'static str, text: &str) -> Result<()> {
    let path = dir.join(file);
    let op = if file == ALLOW { "write devices.allow" } else { "write devices.deny" };
    // No O_CREAT: a wrong directory must fail, not collect stray files named like cgroup ones.
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| DeviceCgroupError::io(op, &path, &e))?;
    file.write_all(text.as_bytes()).map_err(|e| DeviceCgroupError::io(op, &path, &e))
}

/// The lines of `devices.list`.
pub fn read_list(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join(LIST);
    let text = std::fs::read_to_string(&path).map_err(|e| DeviceCgroupError::io("read devices.list", &path, &e))?;
    Ok(text.lines().map(str::to_string).collect())
}

struct Exception {
    kind: DeviceKind,
    major: DevNum,
    minor: DevNum,
    access: u8,
}

/// What `devices.list` shows after `apply_v1(rules)`, by the kernel's own bookkeeping
/// (security/device_cgroup.c): a default plus an exception list, where an exception for the same
/// type:major:minor is merged (access OR-ed) or trimmed (access removed) rather than appended, a
/// rule in the default's direction only trims, and an allow-by-default cgroup lists as `a *:* rwm`.
pub fn expected_list(rules: &[DeviceRule]) -> Vec<String> {
    let mut default_allow = false;
    let mut exceptions: Vec<Exception> = Vec::new();
    for r in rules {
        if r.kind == DeviceKind::All {
            default_allow = r.allow;
            exceptions.clear();
            continue;
        }
        let same = |e: &Exception| e.kind == r.kind && e.major == r.major && e.minor == r.minor;
        if r.allow == default_allow {
            for e in exceptions.iter_mut().filter(|e| same(e)) {
                e.access &= !r.access.bits();
            }
            exceptions.retain(|e| e.access != 0);
        } else if let Some(e) = exceptions.iter_mut().find(|e| same(e)) {
            e.access |= r.access.bits();
        } else {
            exceptions.push(Exception { kind: r.kind, major: r.major, minor: r.minor, access: r.access.bits() });
        }
    }
    if default_allow {
        return vec!["a *:* rwm".to_string()];
    }
    exceptions
        .iter()
        .filter_map(|e| {
            let access = Access::from_bits(e.access)?;
            Some(DeviceRule::allow(e.kind, e.major, e.minor, access).to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsbox_core::devices::parse_cgroup_rule;
    use nsbox_core::devices::DOCKER_DEFAULT_RULES;

    fn rule(s: &str, allow: bool) -> DeviceRule {
        DeviceRule { allow, ..parse_cgroup_rule(s).unwrap() }
    }

    #[test]
    fn docker_defaults_list_as_written() {
        let want: Vec<String> = DOCKER_DEFAULT_RULES[1..].iter().map(|r| r.to_string()).collect();
        assert_eq!(expected_list(&DOCKER_DEFAULT_RULES), want);
    }

    #[test]
    fn same_node_merges_and_trims() {
        let rules = [rule("b 7:0 r", true), rule("b 7:0 w", true), rule("b 7:0 rm", false), rule("c 1:3 r", false)];
        assert_eq!(expected_list(&rules), ["b 7:0 w"]);
        assert_eq!(expected_list(&[rule("b 7:0 r", true), rule("b 7:0 r", false)]), Vec::<String>::new());
    }

    #[test]
    fn allow_all_lists_as_a_and_resets() {
        assert_eq!(expected_list(&[rule("b 7:0 r", true), rule("a *:* rwm", true), rule("b 7:0 r", false)]), ["a *:* rwm"]);
        assert_eq!(expected_list(&[rule("a *:* rwm", true), rule("a *:* rwm", false), rule("c 1:3 m", true)]), ["c 1:3 m"]);
    }
}
