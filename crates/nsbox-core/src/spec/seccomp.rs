//! `linux.seccomp` for a container: the profile the options name (docker's default, none, a
//! docker-format file or an inline profile) resolved by nsbox-seccomp for the container's
//! capabilities and this host's architecture and kernel, as dockerd does before it calls runc.

use serde_json::Value;

use nix::errno::Errno;
use nsbox_seccomp::profile::{self, Profile, ProfileError};
use oci_spec::runtime::Arch;

use crate::options::{RunOptions, SeccompOption};
use crate::WireError;

/// Annotation: where the filter came from — `default`, `unconfined`, the profile's path, or
/// `inline` (inspect shows it; ts/src/lifecycle/security.ts reads it).
pub const ANNOTATION_SECCOMP_PROFILE: &str = "org.nsbox.seccomp.profile";

/// The container's filter (None: unconfined) and the annotation's value.
#[derive(Debug)]
pub struct Section {
    pub linux: Option<Value>,
    pub profile: String,
}

/// `bounding`: the container's bounding set, which decides the profile's capability conditions
/// (CAP_SYS_ADMIN lets clone create namespaces, ...). `--privileged` is unconfined, as in docker.
pub fn section(opts: &RunOptions, bounding: &[String]) -> Result<Section, WireError> {
    let (profile, name, file) = match &opts.seccomp {
        _ if opts.privileged => return Ok(Section { linux: None, profile: "unconfined".into() }),
        None => (profile::default_profile(), "default".to_string(), None),
        Some(SeccompOption::Name(n)) if n == "default" => (profile::default_profile(), n.clone(), None),
        Some(SeccompOption::Name(n)) if n == "unconfined" => return Ok(Section { linux: None, profile: n.clone() }),
        Some(SeccompOption::Name(path)) => {
            if !path.starts_with('/') {
                return Err(WireError::invalid_spec("seccomp", format!("{path:?} is not \"default\", \"unconfined\" or an absolute path to a profile")));
            }
            let text = std::fs::read_to_string(path).map_err(|e| {
                let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                WireError::from_errno("read seccomp profile", Some(path.clone()), errno, format!("cannot read the seccomp profile: {e}"))
            })?;
            let p = profile::parse(&text).map_err(|e| wire(&e, Some(path)))?;
            (p, path.clone(), Some(path))
        }
        Some(SeccompOption::Inline(map)) => {
            let text = Value::Object(map.clone()).to_string();
            (profile::parse(&text).map_err(|e| wire(&e, None))?, "inline".to_string(), None)
        }
    };
    let linux = resolve(&profile, bounding).map_err(|e| wire(&e, file))?;
    Ok(Section { linux: Some(linux), profile: name })
}

fn resolve(p: &Profile, bounding: &[String]) -> Result<Value, ProfileError> {
    let oci = profile::to_oci(p, bounding, Arch::ScmpArchNative)?;
    serde_json::to_value(oci).map_err(|e| ProfileError::Json { message: e.to_string() })
}

/// A bad profile is a bad spec: `op` is the field (`seccomp.syscalls[1].action`), `path` the
/// profile's file when it came from one; a failed call keeps its errno.
pub fn wire(e: &ProfileError, file: Option<&String>) -> WireError {
    let mut w = match e {
        ProfileError::Json { message } => WireError::invalid_spec("seccomp", message.clone()),
        ProfileError::Invalid { field, message } => WireError::invalid_spec(format!("seccomp.{field}"), message.clone()),
        ProfileError::Sys { op, errno } => WireError::from_errno(*op, None, *errno, ""),
    };
    w.path = file.cloned().or(w.path);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seccomp: Option<SeccompOption>) -> RunOptions {
        RunOptions { command: vec!["true".into()], seccomp, ..Default::default() }
    }

    fn caps() -> Vec<String> {
        crate::spec::caps::DOCKER_DEFAULT.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn default_unconfined_and_privileged() {
        let s = section(&opts(None), &caps()).unwrap();
        assert_eq!(s.profile, "default");
        let l = s.linux.unwrap();
        assert_eq!(l["defaultAction"], "SCMP_ACT_ERRNO");
        assert!(l["syscalls"].as_array().unwrap().len() > 10);
        let s = section(&opts(Some(SeccompOption::Name("unconfined".into()))), &caps()).unwrap();
        assert_eq!((s.profile.as_str(), s.linux.is_none()), ("unconfined", true));
        let mut o = opts(Some(SeccompOption::Name("default".into())));
        o.privileged = true;
        let s = section(&o, &caps()).unwrap();
        assert_eq!((s.profile.as_str(), s.linux.is_none()), ("unconfined", true));
    }

    #[test]
    fn a_profile_file_or_object() {
        let dir = std::env::temp_dir().join(format!("nsbox-core-seccomp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.json");
        std::fs::write(&good, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_NOPE"}]}"#).unwrap();
        let name = |p: &std::path::Path| Some(SeccompOption::Name(p.display().to_string()));

        let s = section(&opts(name(&good)), &caps()).unwrap();
        assert_eq!(s.profile, good.display().to_string());
        assert_eq!(s.linux.unwrap()["syscalls"][0]["names"][0], "getcwd");

        let e = section(&opts(name(&bad)), &caps()).unwrap_err();
        assert_eq!((e.code.as_str(), e.op.as_str()), ("ERR_INVALID_SPEC", "seccomp.syscalls[0].action"));
        assert_eq!(e.path, Some(bad.display().to_string()));
        let e = section(&opts(name(&dir.join("missing.json"))), &caps()).unwrap_err();
        assert_eq!((e.code.as_str(), e.errno), ("ENOENT", Some(libc::ENOENT)));
        let e = section(&opts(Some(SeccompOption::Name("relative.json".into()))), &caps()).unwrap_err();
        assert_eq!(e.op, "seccomp");

        let inline: serde_json::Map<String, Value> = serde_json::from_str(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
        let s = section(&opts(Some(SeccompOption::Inline(inline))), &caps()).unwrap();
        assert_eq!(s.profile, "inline");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
