//! Turns `RunOptions` into an OCI runtime-spec config, validating as it goes so every error names
//! the option at fault.

pub mod caps;
mod devices;
pub mod mounts;
pub mod seccomp;

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::idmap::{self, IdMapping};
use crate::namespaces::{self, NsKind};
use crate::options::{Caller, RunOptions};
use crate::WireError;

/// Annotation: put our tiny init in as PID 1.
pub const ANNOTATION_INIT: &str = "org.nsbox.init";

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn build(opts: &RunOptions) -> Result<Value, WireError> {
    let caller = opts.caller.unwrap_or_else(Caller::current);
    let ns = choose_namespaces(opts, caller)?;
    let has = |k: NsKind| ns.contains(&k);
    if opts.command.is_empty() || opts.command[0].is_empty() {
        return Err(WireError::invalid_spec("command", "a command is required"));
    }
    if !has(NsKind::Mnt) {
        for (set, field) in [(opts.rootfs.is_some(), "rootfs"), (!opts.volumes.is_empty(), "volumes"), (opts.read_only, "readOnly")] {
            if set {
                return Err(WireError::invalid_spec(field, "needs a mount namespace (add mnt to namespaces)"));
            }
        }
    }
    for (set, field) in [(opts.hostname.is_some(), "hostname"), (opts.domainname.is_some(), "domainname")] {
        if set && !has(NsKind::Uts) {
            return Err(WireError::invalid_spec(field, "needs a uts namespace (add uts to namespaces)"));
        }
    }
    let (uid_map, gid_map) = if has(NsKind::User) { id_maps(opts, caller)? } else { (vec![], vec![]) };
    let user = opts.user.clone().unwrap_or_default();
    let gid = user.gid.unwrap_or(if opts.user.is_some() { user.uid } else { 0 });
    if has(NsKind::User) {
        if idmap::to_host(&uid_map, user.uid).is_none() {
            return Err(WireError::invalid_spec("user", format!("uid {} is not mapped into the user namespace", user.uid)));
        }
        if idmap::to_host(&gid_map, gid).is_none() {
            return Err(WireError::invalid_spec("user", format!("gid {gid} is not mapped into the user namespace")));
        }
    }
    let root_path = match &opts.rootfs {
        Some(r) if !Path::new(r).is_absolute() => return Err(WireError::invalid_spec("rootfs", format!("{r:?} is not an absolute path"))),
        Some(r) => r.clone(),
        None => "/".to_string(),
    };
    let caps = caps::resolve(opts.privileged, &opts.cap_add, &opts.cap_drop)?;
    let caps = caps::grantable(caps, &opts.cap_add, if has(NsKind::User) { None } else { caller.caps })?;
    caps::guard_host_view(&caps, opts.rootfs.is_none() && has(NsKind::Mnt), opts.privileged, caller.uid == 0)?;
    let seccomp = seccomp::section(opts, &caps)?;
    let mut linux = Map::new();
    if let Some(s) = seccomp.linux {
        linux.insert("seccomp".into(), s);
    }
    linux.insert("namespaces".into(), ns.iter().map(|k| json!({"type": k.oci_name()})).collect());
    if has(NsKind::User) {
        linux.insert("uidMappings".into(), oci_maps(&uid_map));
        linux.insert("gidMappings".into(), oci_maps(&gid_map));
    }
    if has(NsKind::Time) {
        linux.insert("timeOffsets".into(), time_offsets(opts));
    } else if opts.boottime_offset.is_some() || opts.monotonic_offset.is_some() {
        return Err(WireError::invalid_spec("boottimeOffset", "clock offsets need a time namespace (add time to namespaces)"));
    }
    let res = opts.resources.clone().unwrap_or_default();
    let host = crate::resources::Host::current(caller.caps);
    let (shm_size, tmpfs) = crate::resources::tmpfs_mounts(&res)?;
    if !has(NsKind::Mnt) && (shm_size.is_some() || !tmpfs.is_empty()) {
        let field = if tmpfs.is_empty() { "resources.shmSize" } else { "resources.tmpfs" };
        return Err(WireError::invalid_spec(field, "needs a mount namespace (add mnt to namespaces)"));
    }
    let mut mounts = vec![];
    if has(NsKind::Mnt) {
        if !opts.privileged {
            linux.insert("maskedPaths".into(), json!(mounts::MASKED));
            linux.insert("readonlyPaths".into(), json!(mounts::READONLY));
        }
        let plan = mounts::MountPlan {
            host_root: opts.rootfs.is_none(),
            ipc_ns: has(NsKind::Ipc),
            tty_gid_mapped: !has(NsKind::User) || idmap::to_host(&gid_map, 5).is_some(),
            shm_size,
        };
        mounts = mounts::defaults(&plan);
        mounts::add_tmpfs(&mut mounts, &tmpfs);
        for (i, v) in opts.volumes.iter().enumerate() {
            for (p, what) in [(&v.source, "source"), (&v.target, "target")] {
                if !Path::new(p).is_absolute() {
                    return Err(WireError::invalid_spec(format!("volumes[{i}].{what}"), format!("{p:?} is not an absolute path")));
                }
            }
            let mut o = vec!["rbind", "rprivate"];
            if v.read_only {
                o.push("ro");
            }
            mounts.push(json!({"destination": v.target, "type": "bind", "source": v.source, "options": o}));
        }
    }
    devices::add(opts, caller.uid == 0, has(NsKind::Mnt), &mut linux)?;
    let limits = res.linux_resources(&host)?;
    if !limits.is_empty() {
        let section = linux.entry("resources").or_insert_with(|| json!({}));
        if let Value::Object(s) = section {
            s.extend(limits);
        }
    }
    let rlimits = res.rlimits(&host)?;
    let mut annotations = Map::new();
    annotations.insert(seccomp::ANNOTATION_SECCOMP_PROFILE.into(), json!(seccomp.profile));
    if opts.init {
        annotations.insert(ANNOTATION_INIT.into(), json!("true"));
    }
    let spec = json!({
        "ociVersion": "1.2.0",
        // The host's own root is seen read-only, which takes a mount namespace to do.
        "root": {"path": root_path, "readonly": opts.read_only || (opts.rootfs.is_none() && has(NsKind::Mnt))},
        "hostname": opts.hostname,
        "domainname": opts.domainname,
        "process": {
            "terminal": opts.tty,
            "user": {"uid": user.uid, "gid": gid, "additionalGids": user.additional_gids},
            "args": opts.command,
            "env": env(opts, user.uid)?,
            "cwd": opts.cwd.clone().unwrap_or_else(|| "/".into()),
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": opts.no_new_privileges.unwrap_or(!opts.privileged),
            "rlimits": if rlimits.is_empty() { Value::Null } else { Value::Array(rlimits) },
        },
        "mounts": mounts,
        "linux": linux,
        "annotations": annotations,
    });
    let strip_nulls: Value = strip_nulls(spec);
    // Round-trip through oci-spec so what we hand the runtime is a config it would accept.
    serde_json::from_value::<oci_spec::runtime::Spec>(strip_nulls.clone())
        .map_err(|e| WireError::invalid_spec("spec", e.to_string()))?;
    Ok(strip_nulls)
}

fn choose_namespaces(opts: &RunOptions, caller: Caller) -> Result<Vec<NsKind>, WireError> {
    let mut ns = match &opts.namespaces {
        Some(list) => namespaces::parse_list("namespaces", list)?,
        None => namespaces::ROOT_DEFAULT.to_vec(),
    };
    // As with unshare(1): asking for a mapping, or running unprivileged, implies a user namespace.
    let wants_user = opts.map_root_user || !opts.uid_map.is_empty() || !opts.gid_map.is_empty();
    if (wants_user || caller.uid != 0) && !ns.contains(&NsKind::User) {
        ns.push(NsKind::User);
    }
    if (opts.boottime_offset.is_some() || opts.monotonic_offset.is_some()) && opts.namespaces.is_none() && !ns.contains(&NsKind::Time) {
        ns.push(NsKind::Time);
    }
    ns.sort();
    Ok(ns)
}

fn id_maps(opts: &RunOptions, caller: Caller) -> Result<(Vec<IdMapping>, Vec<IdMapping>), WireError> {
    idmap::validate("uidMap", &opts.uid_map)?;
    idmap::validate("gidMap", &opts.gid_map)?;
    // Without explicit maps the caller becomes root inside (the article's case, and unshare -r).
    let root = |outside| vec![IdMapping { inside: 0, outside, length: 1 }];
    let uid = if opts.uid_map.is_empty() { root(caller.uid) } else { opts.uid_map.clone() };
    let gid = if opts.gid_map.is_empty() { root(caller.gid) } else { opts.gid_map.clone() };
    Ok((uid, gid))
}

fn oci_maps(maps: &[IdMapping]) -> Value {
    maps.iter().map(|m| json!({"containerID": m.inside, "hostID": m.outside, "size": m.length})).collect()
}

fn time_offsets(opts: &RunOptions) -> Value {
    json!({
        "boottime": {"secs": opts.boottime_offset.unwrap_or(0), "nanosecs": 0},
        "monotonic": {"secs": opts.monotonic_offset.unwrap_or(0), "nanosecs": 0},
    })
}

fn env(opts: &RunOptions, uid: u32) -> Result<Vec<String>, WireError> {
    let mut env: Vec<String> = vec![DEFAULT_PATH.into()];
    if let Some(h) = &opts.hostname {
        env.push(format!("HOSTNAME={h}"));
    }
    env.push(if uid == 0 { "HOME=/root".into() } else { "HOME=/".into() });
    if opts.tty {
        env.push("TERM=xterm".into());
    }
    for (i, e) in opts.env.iter().enumerate() {
        let Some((key, _)) = e.split_once('=') else {
            return Err(WireError::invalid_spec(format!("env[{i}]"), format!("{e:?} is not KEY=VALUE")));
        };
        if key.is_empty() {
            return Err(WireError::invalid_spec(format!("env[{i}]"), "empty variable name"));
        }
        env.retain(|old| old.split_once('=').map(|(k, _)| k) != Some(key));
        env.push(e.clone());
    }
    Ok(env)
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests;
