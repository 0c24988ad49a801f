//! Reading a profile: a walk over the JSON value that knows where it is, so every error names its
//! field. Unknown fields are refused everywhere (docker's Go decoder would ignore them, and a
//! misspelt `excludes` would then silently allow a syscall to everyone); `null` means absent, as
//! it does for Go.

use oci_spec::runtime::LinuxSeccompAction;
use serde_json::{Map, Value};

use super::names::{self, Flag, GO_ARCHES};
use super::{ArchMap, ArgRule, Condition, KernelVersion, Profile, ProfileError, SyscallRule};

type Result<T> = std::result::Result<T, ProfileError>;

/// The kernel's `MAX_ERRNO`: a seccomp errno above it is clamped by the kernel, so a profile that
/// asks for one is refused instead of quietly returning something else.
pub const MAX_ERRNO: u32 = 4095;

/// A seccomp filter sees six syscall arguments.
const MAX_ARGS: u64 = 6;

const TOP: &[&str] = &[
    "defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags", "listenerPath",
    "listenerMetadata", "syscalls",
];
const SYSCALL: &[&str] = &["names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"];
const ARG: &[&str] = &["index", "value", "valueTwo", "op"];
const CONDITION: &[&str] = &["caps", "arches", "minKernel"];
const ARCH_MAP: &[&str] = &["architecture", "subArchitectures"];

/// Reads docker's profile JSON.
pub fn parse(text: &str) -> Result<Profile> {
    let value: Value = serde_json::from_str(text).map_err(|e| ProfileError::Json { message: e.to_string() })?;
    profile(&value)
}

fn profile(v: &Value) -> Result<Profile> {
    let m = object(v, "")?;
    known_keys(m, "", TOP)?;
    let default_action = action(required(m, "", "defaultAction")?, "defaultAction")?;
    let default_errno_ret = opt(m, "defaultErrnoRet").map(|v| errno(v, "defaultErrnoRet")).transpose()?;
    check_errno_use(default_action, default_errno_ret, "defaultErrnoRet")?;
    let architectures = list(m, "", "architectures", arch)?;
    let arch_map = list(m, "", "archMap", arch_map)?;
    if !architectures.is_empty() && !arch_map.is_empty() {
        return Err(ProfileError::invalid("archMap", "give either architectures or archMap, not both"));
    }
    let flags = list(m, "", "flags", |v, f| {
        let s = string(v, f)?;
        Flag::from_name(s).ok_or_else(|| ProfileError::invalid(f, format!("unknown flag {s:?}")))
    })?;
    let listener_path = opt(m, "listenerPath").map(|v| string(v, "listenerPath").map(str::to_string)).transpose()?;
    let listener_metadata =
        opt(m, "listenerMetadata").map(|v| string(v, "listenerMetadata").map(str::to_string)).transpose()?;
    if listener_metadata.is_some() && listener_path.is_none() {
        // The runtime spec: listenerMetadata MUST NOT be set without listenerPath.
        return Err(ProfileError::invalid("listenerMetadata", "set without listenerPath"));
    }
    if listener_path.as_deref() == Some("") {
        return Err(ProfileError::invalid("listenerPath", "empty path"));
    }
    let syscalls = list(m, "", "syscalls", syscall)?;
    Ok(Profile {
        default_action,
        default_errno_ret,
        architectures,
        arch_map,
        flags,
        listener_path,
        listener_metadata,
        syscalls,
    })
}

fn syscall(v: &Value, path: &str) -> Result<SyscallRule> {
    let m = object(v, path)?;
    known_keys(m, path, SYSCALL)?;
    let mut names = list(m, path, "names", name)?;
    if let Some(single) = opt(m, "name") {
        // docker's older spelling: one name in `name`.
        if !names.is_empty() {
            return Err(ProfileError::invalid(join(path, "name"), "give either name or names, not both"));
        }
        names.push(name(single, &join(path, "name"))?);
    }
    if names.is_empty() {
        return Err(ProfileError::invalid(join(path, "names"), "needs at least one syscall name"));
    }
    let action = action(required(m, path, "action")?, &join(path, "action"))?;
    let field = join(path, "errnoRet");
    let errno_ret = opt(m, "errnoRet").map(|v| errno(v, &field)).transpose()?;
    check_errno_use(action, errno_ret, &field)?;
    let args = list(m, path, "args", arg)?;
    let comment = opt(m, "comment").map(|v| string(v, &join(path, "comment")).map(str::to_string)).transpose()?;
    let includes = opt(m, "includes").map(|v| condition(v, &join(path, "includes"))).transpose()?.unwrap_or_default();
    let excludes = opt(m, "excludes").map(|v| condition(v, &join(path, "excludes"))).transpose()?.unwrap_or_default();
    Ok(SyscallRule { names, action, errno_ret, args, comment, includes, excludes })
}

fn arg(v: &Value, path: &str) -> Result<ArgRule> {
    let m = object(v, path)?;
    known_keys(m, path, ARG)?;
    let index = u64_of(required(m, path, "index")?, &join(path, "index"))?;
    if index >= MAX_ARGS {
        return Err(ProfileError::invalid(join(path, "index"), format!("{index} is not an argument index (0..=5)")));
    }
    let value = u64_of(required(m, path, "value")?, &join(path, "value"))?;
    let value_two = opt(m, "valueTwo").map(|v| u64_of(v, &join(path, "valueTwo"))).transpose()?.unwrap_or(0);
    let op_field = join(path, "op");
    let op_name = string(required(m, path, "op")?, &op_field)?;
    let op = names::operator(op_name)
        .ok_or_else(|| ProfileError::invalid(&op_field, format!("unknown operator {op_name:?}")))?;
    Ok(ArgRule { index: index as u32, value, value_two, op })
}

fn condition(v: &Value, path: &str) -> Result<Condition> {
    let m = object(v, path)?;
    known_keys(m, path, CONDITION)?;
    let caps = list(m, path, "caps", |v, f| {
        let c = string(v, f)?;
        if crate::profile::names::is_capability(c) {
            Ok(c.to_string())
        } else {
            Err(ProfileError::invalid(f, format!("unknown capability {c:?} (names are written CAP_SYS_ADMIN)")))
        }
    })?;
    let arches = list(m, path, "arches", |v, f| {
        let a = string(v, f)?;
        if GO_ARCHES.contains(&a) {
            Ok(a.to_string())
        } else {
            Err(ProfileError::invalid(f, format!("unknown architecture {a:?} (Go names: amd64, arm64, 386, ...)")))
        }
    })?;
    let field = join(path, "minKernel");
    let min_kernel = opt(m, "minKernel")
        .map(|v| {
            let s = string(v, &field)?;
            KernelVersion::parse(s).ok_or_else(|| ProfileError::invalid(&field, format!("{s:?} is not MAJOR.MINOR")))
        })
        .transpose()?;
    Ok(Condition { caps, arches, min_kernel })
}

fn arch_map(v: &Value, path: &str) -> Result<ArchMap> {
    let m = object(v, path)?;
    known_keys(m, path, ARCH_MAP)?;
    let architecture = arch(required(m, path, "architecture")?, &join(path, "architecture"))?;
    let sub_architectures = list(m, path, "subArchitectures", arch)?;
    Ok(ArchMap { architecture, sub_architectures })
}

fn action(v: &Value, field: &str) -> Result<LinuxSeccompAction> {
    let s = string(v, field)?;
    names::action(s).ok_or_else(|| ProfileError::invalid(field, format!("unknown action {s:?}")))
}

fn arch(v: &Value, field: &str) -> Result<oci_spec::runtime::Arch> {
    let s = string(v, field)?;
    names::arch(s).ok_or_else(|| ProfileError::invalid(field, format!("unknown architecture {s:?}")))
}

fn name(v: &Value, field: &str) -> Result<String> {
    let s = string(v, field)?;
    // Syscall names are C identifiers; this catches `"read "` and `"open,close"`.
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(ProfileError::invalid(field, format!("{s:?} is not a syscall name")))
    }
}

fn errno(v: &Value, field: &str) -> Result<u32> {
    let n = u64_of(v, field)?;
    if n > MAX_ERRNO as u64 {
        return Err(ProfileError::invalid(field, format!("{n} is above the largest errno ({MAX_ERRNO})")));
    }
    Ok(n as u32)
}

/// The runtime spec: a return code with an action that has none is an error, not ignored.
fn check_errno_use(action: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<()> {
    let takes = matches!(action, LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace);
    if errno.is_some() && !takes {
        let a = names::name_of(&action);
        return Err(ProfileError::invalid(field, format!("{a} takes no return code (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)")));
    }
    Ok(())
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| type_error(v, if path.is_empty() { "profile" } else { path }, "an object"))
}

fn string<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    v.as_str().ok_or_else(|| type_error(v, field, "a string"))
}

fn u64_of(v: &Value, field: &str) -> Result<u64> {
    v.as_u64().ok_or_else(|| type_error(v, field, "a non-negative integer"))
}

fn type_error(v: &Value, field: &str, want: &str) -> ProfileError {
    let got = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ProfileError::invalid(field, format!("expected {want}, found {got}"))
}

fn known_keys(m: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<()> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ProfileError::invalid(join(path, k), format!("unknown field (known: {})", allowed.join(", ")))),
        None => Ok(()),
    }
}

/// The value of `key`, with `null` read as absent.
fn opt<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

fn required<'a>(m: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a Value> {
    opt(m, key).ok_or_else(|| ProfileError::invalid(join(path, key), "required"))
}

/// An optional array field, each element read by `item` with its own path (`syscalls[3]`).
fn list<T>(m: &Map<String, Value>, path: &str, key: &str, item: impl Fn(&Value, &str) -> Result<T>) -> Result<Vec<T>> {
    let field = join(path, key);
    let Some(v) = opt(m, key) else { return Ok(Vec::new()) };
    let items = v.as_array().ok_or_else(|| type_error(v, &field, "an array"))?;
    items.iter().enumerate().map(|(i, v)| item(v, &format!("{field}[{i}]"))).collect()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
