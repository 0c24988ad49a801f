//! The one impure step of `--device`: stat() the host's node. Kept apart so parsing stays pure.

use nix::sys::stat::{major, minor, stat, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};

use super::error::{sys, DeviceRuleError, Result};
use super::parse::DeviceMapping;
use super::rule::{DevNum, DeviceKind, DeviceRule};

/// A host device node as stat() sees it (symlinks followed, as docker does for `/dev/disk/by-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostDevice {
    /// `Block` or `Char`, never `All`.
    pub kind: DeviceKind,
    pub major: u32,
    pub minor: u32,
    /// Permission bits only (`0o660`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

pub fn stat_device(path: &str) -> Result<HostDevice> {
    let st = stat(path).map_err(sys("stat", path))?;
    let kind = match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFBLK => DeviceKind::Block,
        SFlag::S_IFCHR => DeviceKind::Char,
        _ => {
            return Err(DeviceRuleError::invalid(
                "--device",
                format!("error gathering device information while adding custom device \"{path}\": not a device node"),
            ))
        }
    };
    // Linux's dev_t splits into a 32-bit major and a 32-bit minor at most (12 and 20 bits today).
    let (major, minor) = (major(st.st_rdev) as u32, minor(st.st_rdev) as u32);
    Ok(HostDevice { kind, major, minor, mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid })
}

impl HostDevice {
    /// The allow rule `--device` adds for this node with the mapping's access.
    pub fn rule(&self, mapping: &DeviceMapping) -> DeviceRule {
        DeviceRule::allow(self.kind, DevNum::Num(self.major), DevNum::Num(self.minor), mapping.access)
    }

    /// The `linux.devices` entry that creates the node inside the container, owned and moded as on
    /// the host (docker copies both).
    pub fn to_oci(&self, mapping: &DeviceMapping) -> LinuxDevice {
        let typ = if self.kind == DeviceKind::Block { LinuxDeviceType::B } else { LinuxDeviceType::C };
        LinuxDeviceBuilder::default()
            .path(mapping.container.clone())
            .typ(typ)
            .major(i64::from(self.major))
            .minor(i64::from(self.minor))
            .file_mode(self.mode)
            .uid(self.uid)
            .gid(self.gid)
            .build()
            .expect("every field of LinuxDevice is set")
    }
}

/// `--device HOST[:CONTAINER][:PERMS]` all the way: parse, stat the host node, and return the node
/// to create and the rule that lets the container use it.
pub fn resolve_device_option(option: &str) -> Result<(LinuxDevice, DeviceRule)> {
    let mapping = super::parse::parse_device(option)?;
    let dev = stat_device(&mapping.host)?;
    Ok((dev.to_oci(&mapping), dev.rule(&mapping)))
}

#[cfg(test)]
mod tests {
    use nix::errno::Errno;

    use super::*;

    #[test]
    fn dev_null_is_char_1_3() {
        let d = stat_device("/dev/null").unwrap();
        assert_eq!((d.kind, d.major, d.minor), (DeviceKind::Char, 1, 3));
        let (node, rule) = resolve_device_option("/dev/null:/dev/mynull:rw").unwrap();
        assert_eq!(node.path().to_str(), Some("/dev/mynull"));
        assert_eq!((node.typ(), node.major(), node.minor(), node.file_mode()), (LinuxDeviceType::C, 1, 3, Some(d.mode)));
        assert_eq!(rule.to_string(), "c 1:3 rw");
    }

    #[test]
    fn a_plain_file_or_a_missing_path_is_refused_with_its_name() {
        let e = stat_device("/proc/self/status").unwrap_err();
        assert_eq!(
            e.to_string(),
            "error gathering device information while adding custom device \"/proc/self/status\": not a device node"
        );
        let e = stat_device("/nonexistent-nsbox").unwrap_err();
        assert_eq!(e, DeviceRuleError::Sys { op: "stat", path: "/nonexistent-nsbox".into(), errno: Errno::ENOENT });
    }
}
