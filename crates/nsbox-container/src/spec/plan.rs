//! What the container needs, read once from the OCI config into plain fields so the code that
//! runs after clone never has to interpret the spec.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nsbox_core::idmap::IdMapping;
use nsbox_core::namespaces::NsKind;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::ProcessPlan;
use crate::seccomp::SeccompPlan;

/// The config asks for something invalid or unsupported; `field` names where in the config.
/// Shared by every module that reads a config or the caller's arguments.
#[derive(Debug, thiserror::Error)]
#[error("{field}: ERR_INVALID_SPEC: {msg}")]
pub struct SpecError {
    pub field: String,
    pub msg: String,
}

impl SpecError {
    pub fn new(field: impl Into<String>, msg: impl Into<String>) -> SpecError {
        SpecError { field: field.into(), msg: msg.into() }
    }

    pub fn to_wire(&self) -> nsbox_core::WireError {
        nsbox_core::WireError::invalid_spec(self.field.clone(), self.msg.clone())
    }
}

type Result<T> = std::result::Result<T, SpecError>;

pub const ANNOTATION_INIT: &str = nsbox_core::spec::ANNOTATION_INIT;
pub const ANNOTATION_WAIT_START: &str = "org.nsbox.wait-start";

#[derive(Debug, Clone)]
pub struct MountEntry {
    pub destination: String,
    pub kind: String,
    pub source: String,
    pub flags: MsFlags,
    pub data: String,
    pub bind: bool,
    pub recursive: bool,
    pub readonly: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub namespaces: Vec<NsKind>,
    pub root: PathBuf,
    pub root_readonly: bool,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub uid_map: Vec<IdMapping>,
    pub gid_map: Vec<IdMapping>,
    /// (boottime, monotonic) offsets in seconds and nanoseconds.
    pub time_offsets: Option<[(i64, u32); 2]>,
    pub mounts: Vec<MountEntry>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub devices: super::DevicePlan,
    pub process: ProcessPlan,
    pub init: bool,
    pub wait_start: bool,
    /// `linux.seccomp`, with what a notify agent is told about the container.
    pub seccomp: Option<SeccompPlan>,
    /// Not from the config but the runtime's flags, set by the caller after `from_spec`: the
    /// state root (where compiled filters are cached; None: no cache), and whether the
    /// container's processes get a session keyring of their own (off with `--no-new-keyring`).
    pub state_root: Option<PathBuf>,
    pub new_keyring: bool,
    /// `linux.cgroupsPath` (None: `nsbox-<id>` below the runtime's own cgroup).
    pub cgroups_path: Option<String>,
    /// OCI `create` (no monitor): the container's first process waits on this FIFO (runc's
    /// `exec.fifo`) instead of the sync socket, so `create` can exit and `start` release it.
    pub exec_fifo: Option<PathBuf>,
    /// `--preserve-fds N`: descriptors 3..3+N pass to the container's process.
    pub preserve_fds: u32,
    /// `hooks` of the config, run at their points (create/hooks.rs), with the bundle and the
    /// annotations they are shown in the state on their stdin.
    pub hooks: oci_spec::runtime::Hooks,
    pub bundle: PathBuf,
    pub annotations: HashMap<String, String>,
}

impl Plan {
    pub fn has(&self, kind: NsKind) -> bool {
        self.namespaces.contains(&kind)
    }

    /// Reads a parsed config; relative paths (root, bind sources) resolve against `bundle`.
    pub fn from_spec(spec: &Spec, bundle: &Path) -> Result<Plan> {
        let linux = spec.linux().clone().unwrap_or_default();
        let mut namespaces = Vec::new();
        for ns in linux.namespaces().clone().unwrap_or_default() {
            if ns.path().is_some() {
                return Err(SpecError::new("linux.namespaces", "joining an existing namespace by path is not supported yet"));
            }
            namespaces.push(kind_of(ns.typ()));
        }
        namespaces.sort();
        namespaces.dedup();
        let root = spec.root().as_ref().ok_or_else(|| SpecError::new("root", "root.path is required"))?;
        let root_path = bundle.join(root.path());
        let maps = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<IdMapping> {
            m.iter().flatten().map(|m| IdMapping { inside: m.container_id(), outside: m.host_id(), length: m.size() }).collect()
        };
        let uid_map = maps(linux.uid_mappings());
        let gid_map = maps(linux.gid_mappings());
        if namespaces.contains(&NsKind::User) {
            nsbox_core::idmap::validate("linux.uidMappings", &uid_map).map_err(|e| SpecError::new(e.op, e.message))?;
            nsbox_core::idmap::validate("linux.gidMappings", &gid_map).map_err(|e| SpecError::new(e.op, e.message))?;
        }
        let time_offsets = linux.time_offsets().as_ref().map(|t: &HashMap<_, oci_spec::runtime::LinuxTimeOffset>| {
            let get = |k: &str| t.get(k).map(|o| (o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0))).unwrap_or((0, 0));
            [get("boottime"), get("monotonic")]
        });
        let mut mounts = Vec::new();
        for (i, m) in spec.mounts().iter().flatten().enumerate() {
            mounts.push(mount_entry(i, m, bundle)?);
        }
        let devices = super::DevicePlan::from_linux(&linux)?;
        if !devices.nodes.is_empty() && !namespaces.contains(&NsKind::Mnt) {
            // Without a mount namespace the nodes would be made in the host's own directories.
            return Err(SpecError::new("linux.devices", "needs a mount namespace (add mount to linux.namespaces)"));
        }
        let annotations = spec.annotations().clone().unwrap_or_default();
        let flag = |k: &str| annotations.get(k).map(|v| v == "true").unwrap_or(false);
        let seccomp = linux.seccomp().clone().map(|config| SeccompPlan {
            config,
            bundle: bundle.to_path_buf(),
            annotations: annotations.clone(),
        });
        let hooks = spec.hooks().clone().unwrap_or_default();
        check_hooks(&hooks)?;
        let wait_start = flag(ANNOTATION_WAIT_START);
        let init = flag(ANNOTATION_INIT);
        Ok(Plan {
            namespaces,
            root: root_path,
            root_readonly: root.readonly().unwrap_or(false),
            hostname: spec.hostname().clone(),
            domainname: spec.domainname().clone(),
            uid_map,
            gid_map,
            time_offsets,
            mounts,
            masked_paths: linux.masked_paths().clone().unwrap_or_default(),
            readonly_paths: linux.readonly_paths().clone().unwrap_or_default(),
            devices,
            process: super::process::process_plan(spec.process().as_ref().ok_or_else(|| SpecError::new("process", "process is required"))?)?,
            init,
            wait_start,
            seccomp,
            state_root: None,
            new_keyring: true,
            cgroups_path: linux.cgroups_path().as_ref().map(|p| p.to_string_lossy().into_owned()),
            exec_fifo: None,
            preserve_fds: 0,
            hooks,
            bundle: bundle.to_path_buf(),
            annotations,
        })
    }
}

fn kind_of(t: LinuxNamespaceType) -> NsKind {
    match t {
        LinuxNamespaceType::Cgroup => NsKind::Cgroup,
        LinuxNamespaceType::Ipc => NsKind::Ipc,
        LinuxNamespaceType::Mount => NsKind::Mnt,
        LinuxNamespaceType::Network => NsKind::Net,
        LinuxNamespaceType::Pid => NsKind::Pid,
        LinuxNamespaceType::Time => NsKind::Time,
        LinuxNamespaceType::User => NsKind::User,
        LinuxNamespaceType::Uts => NsKind::Uts,
    }
}

fn mount_entry(i: usize, m: &oci_spec::runtime::Mount, bundle: &Path) -> Result<MountEntry> {
    let destination = m.destination().to_string_lossy().into_owned();
    if !destination.starts_with('/') {
        return Err(SpecError::new(format!("mounts[{i}].destination"), format!("{destination:?} is not absolute")));
    }
    let kind = m.typ().clone().unwrap_or_else(|| "bind".into());
    let source = m.source().as_ref().map(|s| bundle.join(s).to_string_lossy().into_owned()).unwrap_or_else(|| kind.clone());
    let mut e = MountEntry { destination, kind, source, flags: MsFlags::empty(), data: String::new(), bind: false, recursive: false, readonly: false };
    let mut data = Vec::new();
    for o in m.options().iter().flatten() {
        match o.as_str() {
            "bind" => e.bind = true,
            "rbind" => (e.bind, e.recursive) = (true, true),
            "ro" => e.readonly = true,
            "rw" | "private" | "rprivate" | "defaults" => {}
            "nosuid" => e.flags |= MsFlags::MS_NOSUID,
            "nodev" => e.flags |= MsFlags::MS_NODEV,
            "noexec" => e.flags |= MsFlags::MS_NOEXEC,
            "strictatime" => e.flags |= MsFlags::MS_STRICTATIME,
            "relatime" => e.flags |= MsFlags::MS_RELATIME,
            "noatime" => e.flags |= MsFlags::MS_NOATIME,
            "sync" => e.flags |= MsFlags::MS_SYNCHRONOUS,
            other => data.push(other.to_string()),
        }
    }
    if e.kind == "bind" {
        e.bind = true;
    }
    e.data = data.join(",");
    Ok(e)
}

impl Plan {
    /// The state hooks read on stdin, for this container at `status` with `pid`.
    pub fn hook_state(&self, id: &str, status: &str, pid: i32) -> String {
        crate::create::hooks::state_json(id, status, pid, &self.bundle, &self.annotations)
    }
}

/// runtime-spec: a hook's path is absolute, its timeout above zero.
fn check_hooks(h: &oci_spec::runtime::Hooks) -> Result<()> {
    #[allow(deprecated)]
    let all = [
        ("prestart", h.prestart()),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ];
    for (kind, hooks) in all {
        for (i, hook) in hooks.iter().flatten().enumerate() {
            if !hook.path().is_absolute() {
                return Err(SpecError::new(format!("hooks.{kind}[{i}].path"), format!("{:?} is not absolute", hook.path())));
            }
            if hook.timeout().is_some_and(|t| t <= 0) {
                return Err(SpecError::new(format!("hooks.{kind}[{i}].timeout"), "must be greater than zero"));
            }
        }
    }
    Ok(())
}
