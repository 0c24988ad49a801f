//! What the container needs, read once from the OCI config into plain fields so the code that
//! runs after clone never has to interpret the spec.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nsbox_cgroups::resources::Resources;
use nsbox_cgroups::CgroupsPath;
use nsbox_core::idmap::IdMapping;
use nsbox_core::namespaces::NsKind;
use oci_spec::runtime::Spec;

use super::linux;
use super::mounts::{mount_entry, MountEntry};
use super::process::{process_plan, ProcessPlan};
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

pub(super) type Result<T> = std::result::Result<T, SpecError>;

pub const ANNOTATION_INIT: &str = nsbox_core::spec::ANNOTATION_INIT;
pub const ANNOTATION_WAIT_START: &str = "org.nsbox.wait-start";
/// nsbox's extension: create the container's user namespace as a child of this one (a
/// `/proc/PID/ns/user` path), not of the runtime's: a rootless user-defined network's holder
/// (docs/networking.md, "Rootless user-defined networks"; create/userns_parent.rs).
pub const ANNOTATION_USERNS_PARENT: &str = "org.nsbox.userns-parent";
/// nsbox's extension: a unix socket (of the rootless network helper's keeper) the runtime hands the
/// container's user and network namespaces and a pidfd on its first process to, as soon as its id
/// maps are written (create/handover.rs; docs/networking.md, "The helper's lifetime").
pub const ANNOTATION_NET_HELPER_SOCKET: &str = "org.nsbox.net-helper-socket";
/// nsbox's extension, with the socket above: `receive`: the keeper has made the container's user
/// and network namespaces (with the spec's maps) and started the helper on them; the runtime
/// receives them on that socket before clone and the container is made in them
/// (create/handover.rs; docs/networking.md, "Namespaces made before the runtime").
pub const ANNOTATION_NET_HELPER_NAMESPACES: &str = "org.nsbox.net-helper-namespaces";

#[derive(Debug, Clone)]
pub struct Plan {
    /// Every namespace the container has of its own, made for it or joined by path (`join`).
    pub namespaces: Vec<NsKind>,
    pub join: Vec<(NsKind, PathBuf)>,
    pub root: PathBuf,
    pub root_readonly: bool,
    /// nsbox's extension: the root is an overlay of these layers (spec/overlay.rs).
    pub overlay: Option<super::OverlayRoot>,
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
    /// `linux.rootfsPropagation`, for `/` once it is the container's root.
    pub root_propagation: Option<MsFlags>,
    /// `linux.sysctl`: (path below /proc/sys, value), each checked to be namespaced.
    pub sysctl: Vec<(String, String)>,
    pub personality: Option<u64>,
    pub cgroups_path: Option<CgroupsPath>,
    /// `linux.resources` but devices.
    pub resources: Resources,
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
    /// `org.nsbox.userns-parent`: the user namespace the container's own is created in.
    pub userns_parent: Option<PathBuf>,
    /// `org.nsbox.net-helper-socket`: where the container's namespaces are handed over.
    pub net_helper_socket: Option<PathBuf>,
    /// `org.nsbox.net-helper-namespaces: receive`: the user and network namespaces come from the
    /// keeper on `net_helper_socket`. Once received they are in `join` (as /proc/self/fd/N) and
    /// the runtime enters the user namespace itself, right before clone ([`Plan::early_user`]).
    pub receive_namespaces: bool,
}

impl Plan {
    pub fn has(&self, kind: NsKind) -> bool {
        self.namespaces.contains(&kind)
    }

    /// Made for the container (not joined by path).
    pub fn creates(&self, kind: NsKind) -> bool {
        self.has(kind) && !self.joined(kind)
    }

    pub fn joined(&self, kind: NsKind) -> bool {
        self.join.iter().any(|(k, _)| *k == kind)
    }

    /// The user namespace is entered by the child itself before it makes the other namespaces
    /// (joined by path, or made after joining others: see spec/linux.rs).
    pub fn late_user(&self) -> bool {
        (self.joined(NsKind::User) && !self.early_user()) || (self.creates(NsKind::User) && !self.join.is_empty())
    }

    /// Received user namespace (`receive_namespaces`): the runtime itself enters it right before
    /// clone (join.rs), so every namespace clone makes (pid too) belongs to it.
    pub fn early_user(&self) -> bool {
        self.receive_namespaces && self.joined(NsKind::User)
    }

    /// Reads a parsed config; relative paths (root, bind sources) resolve against `bundle`.
    pub fn from_spec(spec: &Spec, bundle: &Path) -> Result<Plan> {
        linux::check_version(spec.version())?;
        let linux = spec.linux().clone().unwrap_or_default();
        let (namespaces, join) = linux::namespaces(&linux)?;
        let root = spec.root().as_ref().ok_or_else(|| SpecError::new("root", "root.path is required"))?;
        let root_path = bundle.join(root.path());
        let maps = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<IdMapping> {
            m.iter().flatten().map(|m| IdMapping { inside: m.container_id(), outside: m.host_id(), length: m.size() }).collect()
        };
        let uid_map = maps(linux.uid_mappings());
        let gid_map = maps(linux.gid_mappings());
        if namespaces.contains(&NsKind::User) && !join.iter().any(|(k, _)| *k == NsKind::User) {
            nsbox_core::idmap::validate("linux.uidMappings", &uid_map).map_err(|e| SpecError::new(e.op, e.message))?;
            nsbox_core::idmap::validate("linux.gidMappings", &gid_map).map_err(|e| SpecError::new(e.op, e.message))?;
        } else if !uid_map.is_empty() || !gid_map.is_empty() {
            return Err(SpecError::new("linux.uidMappings", "id maps need a user namespace made for the container (add user to linux.namespaces)"));
        }
        let time_offsets = linux.time_offsets().as_ref().map(|t: &HashMap<_, oci_spec::runtime::LinuxTimeOffset>| {
            let get = |k: &str| t.get(k).map(|o| (o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0))).unwrap_or((0, 0));
            [get("boottime"), get("monotonic")]
        });
        if time_offsets.is_some() && !namespaces.contains(&NsKind::Time) {
            return Err(SpecError::new("linux.timeOffsets", "needs a time namespace (add time to linux.namespaces)"));
        }
        let mut mounts = Vec::new();
        for (i, m) in spec.mounts().iter().flatten().enumerate() {
            mounts.push(mount_entry(i, m, bundle)?);
        }
        let devices = super::DevicePlan::from_linux(&linux)?;
        let root_propagation = linux::root_propagation(&linux)?;
        let masked_paths = linux.masked_paths().clone().unwrap_or_default();
        let readonly_paths = linux.readonly_paths().clone().unwrap_or_default();
        if !namespaces.contains(&NsKind::Mnt) {
            // Without a mount namespace the container runs in the caller's mount tree, chrooted
            // to root.path: its `mounts` are made there, as runc and crun do (rootfs/caller.rs),
            // but nothing that would change what the caller already has: masks (runc refuses
            // them too), device nodes, a read-only root, the root's propagation.
            let no_mnt = [
                (!masked_paths.is_empty(), "linux.maskedPaths"),
                (!readonly_paths.is_empty(), "linux.readonlyPaths"),
                (!devices.nodes.is_empty(), "linux.devices"),
                (root.readonly().unwrap_or(false), "root.readonly"),
                (root_propagation.is_some(), "linux.rootfsPropagation"),
            ];
            if let Some((_, field)) = no_mnt.iter().find(|(set, _)| *set) {
                return Err(SpecError::new(*field, "needs a mount namespace (add mount to linux.namespaces)"));
            }
        }
        linux::refuse_unsupported(spec, &linux, &namespaces)?;
        let sysctl = linux::sysctls(&linux, &namespaces)?;
        let personality = linux::personality(&linux)?;
        let cgroups_path = match linux.cgroups_path() {
            Some(p) => Some(CgroupsPath::parse(&p.to_string_lossy()).map_err(|m| SpecError::new("linux.cgroupsPath", m))?),
            None => None,
        };
        let resources = match linux.resources() {
            Some(r) => Resources::from_oci(r).map_err(|e| match e {
                nsbox_cgroups::resources::ResourceError::Invalid { field, msg } => SpecError::new(field, msg),
                other => SpecError::new("linux.resources", other.to_string()),
            })?,
            None => Resources::default(),
        };
        let annotations = spec.annotations().clone().unwrap_or_default();
        let overlay = super::overlay::overlay_root(&annotations)?.map(|mut o| {
            o.id_maps = Some((uid_map.clone(), gid_map.clone()));
            o
        });
        if overlay.is_some() && !namespaces.contains(&NsKind::Mnt) {
            return Err(SpecError::new(format!("annotations.{}", super::ANNOTATION_OVERLAY), "needs a mount namespace (add mount to linux.namespaces)"));
        }
        let flag = |k: &str| annotations.get(k).map(|v| v == "true").unwrap_or(false);
        let userns_parent = userns_parent(&annotations, &namespaces, &join)?;
        let net_helper_socket = net_helper_socket(&annotations, &namespaces, &join)?;
        let hooks = spec.hooks().clone().unwrap_or_default();
        check_hooks(&hooks)?;
        let runtime_hooks = [hooks.prestart(), hooks.create_runtime(), hooks.poststart(), hooks.poststop()].iter().any(|h| h.as_ref().is_some_and(|v| !v.is_empty()));
        let new_pid = namespaces.contains(&NsKind::Pid) && !join.iter().any(|(k, _)| *k == NsKind::Pid);
        let received = Received { socket: net_helper_socket.is_some() && userns_parent.is_none(), uid_map: &uid_map, gid_map: &gid_map, devices: &devices, runtime_hooks, new_pid };
        let receive_namespaces = receive_namespaces(&annotations, &received)?;
        let seccomp = linux.seccomp().clone().map(|config| SeccompPlan {
            config,
            bundle: bundle.to_path_buf(),
            annotations: annotations.clone(),
        });
        Ok(Plan {
            namespaces,
            join,
            root: root_path,
            root_readonly: root.readonly().unwrap_or(false),
            overlay,
            hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
            domainname: spec.domainname().clone().filter(|d| !d.is_empty()),
            uid_map,
            gid_map,
            time_offsets,
            mounts,
            masked_paths,
            readonly_paths,
            devices,
            process: process_plan(spec.process().as_ref().ok_or_else(|| SpecError::new("process", "process is required"))?)?,
            init: flag(ANNOTATION_INIT),
            wait_start: flag(ANNOTATION_WAIT_START),
            seccomp,
            state_root: None,
            new_keyring: true,
            root_propagation,
            sysctl,
            personality,
            cgroups_path,
            resources,
            exec_fifo: None,
            preserve_fds: 0,
            hooks,
            bundle: bundle.to_path_buf(),
            annotations,
            userns_parent,
            net_helper_socket,
            receive_namespaces,
        })
    }

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

/// `org.nsbox.userns-parent`: only for a container that makes its user namespace at clone (no
/// namespace joined by path: those would belong to another user namespace than the one asked for).
fn userns_parent(annotations: &HashMap<String, String>, kinds: &[NsKind], join: &[(NsKind, PathBuf)]) -> Result<Option<PathBuf>> {
    let Some(v) = annotations.get(ANNOTATION_USERNS_PARENT) else { return Ok(None) };
    let field = format!("annotations.{ANNOTATION_USERNS_PARENT}");
    let p = PathBuf::from(v);
    if !p.is_absolute() {
        return Err(SpecError::new(&field, format!("{v:?} is not an absolute path")));
    }
    if !kinds.contains(&NsKind::User) || !join.is_empty() {
        return Err(SpecError::new(&field, "needs a user namespace made for the container and no namespace joined by path"));
    }
    Ok(Some(p))
}

/// `org.nsbox.net-helper-socket`: only for a container that makes its user and network namespaces
/// at clone (nothing joined by path: the namespaces exist, mapped, before the child runs any setup).
fn net_helper_socket(annotations: &HashMap<String, String>, kinds: &[NsKind], join: &[(NsKind, PathBuf)]) -> Result<Option<PathBuf>> {
    let Some(v) = annotations.get(ANNOTATION_NET_HELPER_SOCKET) else { return Ok(None) };
    let field = format!("annotations.{ANNOTATION_NET_HELPER_SOCKET}");
    let p = PathBuf::from(v);
    if !p.is_absolute() || p.file_name().is_none() {
        return Err(SpecError::new(&field, format!("{v:?} is not an absolute path of a socket")));
    }
    if !kinds.contains(&NsKind::User) || !kinds.contains(&NsKind::Net) || !join.is_empty() {
        return Err(SpecError::new(&field, "needs a user and a network namespace made for the container and no namespace joined by path"));
    }
    Ok(Some(p))
}

/// What `org.nsbox.net-helper-namespaces` depends on in the rest of the spec.
#[derive(Clone, Copy)]
struct Received<'a> {
    /// `org.nsbox.net-helper-socket` is given (and no `org.nsbox.userns-parent`).
    socket: bool,
    uid_map: &'a [IdMapping],
    gid_map: &'a [IdMapping],
    devices: &'a super::DevicePlan,
    /// prestart, createRuntime, poststart or poststop hooks: the runtime runs those itself.
    runtime_hooks: bool,
    /// The container gets a pid namespace of its own.
    new_pid: bool,
}

/// `org.nsbox.net-helper-namespaces: receive`: only with the socket (which needs a user and a
/// network namespace made for the container), the maps an unprivileged keeper can write itself
/// (our own uid and gid as the only id), and no device rules (the runtime enters the container's
/// user namespace before clone and then holds no right over the host's device cgroup).
fn receive_namespaces(annotations: &HashMap<String, String>, r: &Received<'_>) -> Result<bool> {
    let Some(v) = annotations.get(ANNOTATION_NET_HELPER_NAMESPACES) else { return Ok(false) };
    let field = format!("annotations.{ANNOTATION_NET_HELPER_NAMESPACES}");
    if v != "receive" {
        return Err(SpecError::new(&field, format!("{v:?} is not a mode (only \"receive\")")));
    }
    if !r.socket {
        return Err(SpecError::new(&field, format!("needs annotations.{ANNOTATION_NET_HELPER_SOCKET} (and no {ANNOTATION_USERNS_PARENT})")));
    }
    let own = |m: &[IdMapping], id: u32| matches!(m, [IdMapping { inside: 0, outside, length: 1 }] if *outside == id);
    if !own(r.uid_map, nix::unistd::geteuid().as_raw()) || !own(r.gid_map, nix::unistd::getegid().as_raw()) {
        return Err(SpecError::new(&field, "needs linux.uidMappings and gidMappings to be the caller's own uid and gid as 0, one id each (the keeper writes those maps unprivileged)"));
    }
    if !r.devices.rules.is_empty() {
        return Err(SpecError::new(&field, "cannot be used with linux.resources.devices (the runtime enters the received user namespace before clone and then holds no right over the host's device cgroup); give none, as a rootless spec does"));
    }
    // The runtime, and the monitor it becomes, live in the container's user namespace from then
    // on: only a pid namespace of the container's own keeps them out of its reach (it cannot name
    // them), and hooks the runtime runs would run as root of that namespace, not in the runtime's
    // namespace as the runtime spec says.
    if !r.new_pid {
        return Err(SpecError::new(&field, "needs a pid namespace of the container's own (the runtime lives in the received user namespace, and must stay out of the container's sight)"));
    }
    if r.runtime_hooks {
        return Err(SpecError::new(&field, "cannot be used with prestart, createRuntime, poststart or poststop hooks (the runtime would run them inside the container's user namespace)"));
    }
    Ok(true)
}

#[cfg(test)]
mod userns_parent_tests {
    use super::*;

    /// Annotations holding one `key`.
    fn ann(key: &str, v: &str) -> HashMap<String, String> {
        [(key.to_string(), v.to_string())].into_iter().collect()
    }

    #[test]
    fn only_for_a_user_namespace_of_its_own_and_nothing_joined() {
        let user = [NsKind::User, NsKind::Net];
        assert_eq!(userns_parent(&ann(ANNOTATION_USERNS_PARENT, "/proc/7/ns/user"), &user, &[]).unwrap(), Some(PathBuf::from("/proc/7/ns/user")));
        assert_eq!(userns_parent(&HashMap::new(), &user, &[]).unwrap(), None);
        assert!(userns_parent(&ann(ANNOTATION_USERNS_PARENT, "proc/7"), &user, &[]).unwrap_err().msg.contains("not an absolute path"));
        assert!(userns_parent(&ann(ANNOTATION_USERNS_PARENT, "/p"), &[NsKind::Net], &[]).is_err(), "no user namespace of its own");
        let joined = [(NsKind::Net, PathBuf::from("/proc/1/ns/net"))];
        assert!(userns_parent(&ann(ANNOTATION_USERNS_PARENT, "/p"), &user, &joined).unwrap_err().msg.contains("no namespace joined by path"));
    }

    #[test]
    fn received_namespaces_need_the_socket_our_own_single_ids_a_pid_namespace_and_no_device_rules_or_runtime_hooks() {
        let a = |v: &str| ann(ANNOTATION_NET_HELPER_NAMESPACES, v);
        let own = |id: u32| vec![IdMapping { inside: 0, outside: id, length: 1 }];
        let (uid, gid) = (own(nix::unistd::geteuid().as_raw()), own(nix::unistd::getegid().as_raw()));
        let none = super::super::DevicePlan::default();
        let ok = Received { socket: true, uid_map: &uid, gid_map: &gid, devices: &none, runtime_hooks: false, new_pid: true };
        let err = |ann: &HashMap<String, String>, r: &Received<'_>| receive_namespaces(ann, r).unwrap_err().msg;
        assert!(receive_namespaces(&a("receive"), &ok).unwrap());
        assert!(!receive_namespaces(&HashMap::new(), &ok).unwrap());
        assert!(err(&a("make"), &ok).contains("is not a mode"));
        assert!(err(&a("receive"), &Received { socket: false, ..ok }).contains("needs annotations.org.nsbox.net-helper-socket"));
        let two = vec![IdMapping { inside: 0, outside: nix::unistd::geteuid().as_raw(), length: 1 }, IdMapping { inside: 1, outside: 100000, length: 65536 }];
        assert!(err(&a("receive"), &Received { uid_map: &two, ..ok }).contains("one id each"));
        let other = own(nix::unistd::geteuid().as_raw() + 1);
        assert!(err(&a("receive"), &Received { uid_map: &other, ..ok }).contains("the caller's own uid and gid"));
        assert!(err(&a("receive"), &Received { new_pid: false, ..ok }).contains("needs a pid namespace of the container's own"));
        assert!(err(&a("receive"), &Received { runtime_hooks: true, ..ok }).contains("hooks"));
    }

    #[test]
    fn net_helper_socket_needs_user_and_net_of_its_own() {
        let a = |v: &str| ann(ANNOTATION_NET_HELPER_SOCKET, v);
        let both = [NsKind::User, NsKind::Net];
        assert_eq!(net_helper_socket(&a("/d/k.sock"), &both, &[]).unwrap(), Some(PathBuf::from("/d/k.sock")));
        assert_eq!(net_helper_socket(&HashMap::new(), &both, &[]).unwrap(), None);
        assert!(net_helper_socket(&a("k.sock"), &both, &[]).unwrap_err().msg.contains("not an absolute path"));
        assert!(net_helper_socket(&a("/d/k.sock"), &[NsKind::User], &[]).is_err(), "no network namespace");
        let joined = [(NsKind::Mnt, PathBuf::from("/proc/1/ns/mnt"))];
        assert!(net_helper_socket(&a("/d/k.sock"), &both, &joined).unwrap_err().msg.contains("no namespace joined"));
    }
}
