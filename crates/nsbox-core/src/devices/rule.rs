//! A device rule as the cgroup v1 `devices.allow`/`devices.deny` files spell it (`c 1:3 rwm`),
//! where OCI configs' rules come from, docker's default list, and what a rule list means.
//!
//! A rule list always starts from "deny everything": v1 application writes `a` to
//! `devices.deny` first and the v2 program denies by default, so a list without any `a` rule is an
//! allow-list. An `a` rule (any numbers, any access) resets the list to allow-all or deny-all,
//! because that is what the v1 kernel does with any string that starts with `a` (and runc too).

use std::fmt;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType};

use super::error::{DeviceRuleError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// `a`: every device; in a rule it resets the whole list.
    All,
    Block,
    Char,
}

impl DeviceKind {
    pub const fn as_char(self) -> char {
        match self {
            DeviceKind::All => 'a',
            DeviceKind::Block => 'b',
            DeviceKind::Char => 'c',
        }
    }
}

/// A major or minor number, or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DevNum {
    Any,
    Num(u32),
}

impl DevNum {
    pub fn matches(self, n: u32) -> bool {
        match self {
            DevNum::Any => true,
            DevNum::Num(m) => m == n,
        }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DevNum::Any => f.write_str("*"),
            DevNum::Num(n) => write!(f, "{n}"),
        }
    }
}

/// A non-empty subset of `rwm`. The bit values are the kernel's `BPF_DEVCG_ACC_*` (also v1's
/// `DEVCG_ACC_*`), so the BPF program can test them without translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access(u8);

impl Access {
    pub const MKNOD: Access = Access(1);
    pub const READ: Access = Access(2);
    pub const WRITE: Access = Access(4);
    pub const RWM: Access = Access(7);
    /// Each bit with its letter, in the order Display prints them.
    pub const LETTERS: [(Access, char); 3] = [(Access::READ, 'r'), (Access::WRITE, 'w'), (Access::MKNOD, 'm')];

    /// None for 0 or bits outside rwm: an empty access is not a rule.
    pub const fn from_bits(bits: u8) -> Option<Access> {
        if bits == 0 || bits & !7 != 0 {
            None
        } else {
            Some(Access(bits))
        }
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in Access::LETTERS {
            if self.contains(bit) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceRule {
    pub kind: DeviceKind,
    pub major: DevNum,
    pub minor: DevNum,
    pub access: Access,
    pub allow: bool,
}

impl DeviceRule {
    pub const fn allow(kind: DeviceKind, major: DevNum, minor: DevNum, access: Access) -> DeviceRule {
        DeviceRule { kind, major, minor, access, allow: true }
    }

    pub const DENY_ALL: DeviceRule =
        DeviceRule { kind: DeviceKind::All, major: DevNum::Any, minor: DevNum::Any, access: Access::RWM, allow: false };

    /// The node-specific part matches (type, major, minor); access is checked by the caller.
    pub fn matches(&self, kind: DeviceKind, major: u32, minor: u32) -> bool {
        self.kind == kind && self.major.matches(major) && self.minor.matches(minor)
    }
}

/// `c 1:3 rwm`: the v1 file syntax and docker's `--device-cgroup-rule`; allow/deny is not part of
/// it (it is which file, or which flag, the text goes to).
impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}:{} {}", self.kind.as_char(), self.major, self.minor, self.access)
    }
}

const fn chr(major: u32, minor: DevNum) -> DeviceRule {
    DeviceRule::allow(DeviceKind::Char, DevNum::Num(major), minor, Access::RWM)
}

/// Docker's defaults (moby `oci/defaults.go`): deny all, then the nodes every container gets.
/// The last two allow `mknod` of ANY char or block device but not opening it: images that create
/// device nodes while unpacking or in their entrypoint (`mknod /dev/xyz`) keep working, and a
/// node so made still cannot be read or written unless another rule allows that device.
pub const DOCKER_DEFAULT_RULES: [DeviceRule; 12] = [
    DeviceRule::DENY_ALL,
    chr(1, DevNum::Num(3)),   // null
    chr(1, DevNum::Num(5)),   // zero
    chr(1, DevNum::Num(7)),   // full
    chr(1, DevNum::Num(8)),   // random
    chr(1, DevNum::Num(9)),   // urandom
    chr(5, DevNum::Num(0)),   // tty
    chr(5, DevNum::Num(1)),   // console
    chr(5, DevNum::Num(2)),   // ptmx
    chr(136, DevNum::Any),    // pts/*
    DeviceRule::allow(DeviceKind::Char, DevNum::Any, DevNum::Any, Access::MKNOD),
    DeviceRule::allow(DeviceKind::Block, DevNum::Any, DevNum::Any, Access::MKNOD),
];

/// The nodes every container's /dev holds (null, zero, full, random, urandom, tty, console, ptmx,
/// pts/*): docker's defaults without the leading deny-all and the two mknod-anywhere rules. A
/// runtime appends these to any config's rules, as runc, crun and youki do, so the nodes it makes
/// itself stay usable whatever the config's list says.
pub fn standard_node_rules() -> &'static [DeviceRule] {
    &DOCKER_DEFAULT_RULES[1..10]
}

/// The rules after the last `a` rule, and whether that reset allowed everything (no `a` rule:
/// deny, the state every list starts from).
pub fn effective(rules: &[DeviceRule]) -> (bool, &[DeviceRule]) {
    match rules.iter().rposition(|r| r.kind == DeviceKind::All) {
        Some(i) => (rules[i].allow, &rules[i + 1..]),
        None => (false, rules),
    }
}

/// What the list means, the reference the BPF program is generated to match: each requested access
/// bit is decided by the last rule that matches the node and names that bit (the default if none
/// does); the access is permitted only if every requested bit is. Per bit, because v1 merges an
/// allowed `r` and a later allowed `w` for one node into `rw`, and a later deny of `w` takes only `w`.
pub fn permits(rules: &[DeviceRule], kind: DeviceKind, major: u32, minor: u32, access: Access) -> bool {
    let (default_allow, rest) = effective(rules);
    Access::LETTERS.iter().filter(|(bit, _)| access.contains(*bit)).all(|(bit, _)| {
        rest.iter()
            .rev()
            .find(|r| r.access.contains(*bit) && r.matches(kind, major, minor))
            .map_or(default_allow, |r| r.allow)
    })
}

fn oci_kind(typ: LinuxDeviceType) -> Option<DeviceKind> {
    match typ {
        LinuxDeviceType::A => Some(DeviceKind::All),
        LinuxDeviceType::B => Some(DeviceKind::Block),
        // `u` is an unbuffered char device: the kernel knows only "char".
        LinuxDeviceType::C | LinuxDeviceType::U => Some(DeviceKind::Char),
        // FIFOs are not devices to the devices cgroup: it never checks them.
        LinuxDeviceType::P => None,
    }
}

/// OCI numbers are i64 and runc spells "any" as -1; the kernel's are u32.
fn oci_num(field: &str, n: Option<i64>) -> Result<DevNum> {
    match n {
        None | Some(-1) => Ok(DevNum::Any),
        Some(n) => u32::try_from(n)
            .map(DevNum::Num)
            .map_err(|_| DeviceRuleError::invalid(field, format!("device number {n} is out of range"))),
    }
}

impl DeviceRule {
    /// One `linux.resources.devices[i]` entry; `field` names it in errors. A missing type is `a`
    /// and a missing access is `rwm` (the spec's example `{"allow": false}` denies everything).
    pub fn from_oci(rule: &LinuxDeviceCgroup, field: &str) -> Result<DeviceRule> {
        let kind = match rule.typ() {
            None => DeviceKind::All,
            Some(t) => oci_kind(t)
                .ok_or_else(|| DeviceRuleError::invalid(format!("{field}.type"), format!("invalid device type {}", t.as_str())))?,
        };
        let access = match rule.access() {
            None => Access::RWM,
            Some(s) => super::parse::parse_access(s).map_err(|e| DeviceRuleError::invalid(format!("{field}.access"), e.to_string()))?,
        };
        Ok(DeviceRule {
            kind,
            major: oci_num(&format!("{field}.major"), rule.major())?,
            minor: oci_num(&format!("{field}.minor"), rule.minor())?,
            access,
            allow: rule.allow(),
        })
    }
}

impl DeviceRule {
    /// The `linux.resources.devices` entry for this rule; `*` numbers are left out (the spec's
    /// "all"), which `from_oci` reads back as `*`.
    pub fn to_oci(&self) -> LinuxDeviceCgroup {
        let typ = match self.kind {
            DeviceKind::All => LinuxDeviceType::A,
            DeviceKind::Block => LinuxDeviceType::B,
            DeviceKind::Char => LinuxDeviceType::C,
        };
        let num = |n: DevNum| match n {
            DevNum::Any => None,
            DevNum::Num(n) => Some(i64::from(n)),
        };
        let mut b = LinuxDeviceCgroupBuilder::default().allow(self.allow).typ(typ).access(self.access.to_string());
        if let Some(m) = num(self.major) {
            b = b.major(m);
        }
        if let Some(m) = num(self.minor) {
            b = b.minor(m);
        }
        b.build().expect("allow, type and access are set")
    }
}

/// A container's rule list from its OCI config's `linux.resources.devices`, in order. The nodes of
/// `linux.devices` imply no rule: docker writes a rule for each `--device` with the access asked
/// for, and an implied `rwm` after it would make `--device /dev/sda:/dev/xvdc:r` writable.
pub fn rules_from_oci(resources: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>> {
    resources.iter().enumerate().map(|(i, r)| DeviceRule::from_oci(r, &format!("linux.resources.devices[{i}]"))).collect()
}

#[cfg(test)]
#[path = "rule_tests.rs"]
mod tests;
