//! nsbox's extension (docs/oci-spec.md): the annotation `org.nsbox.rootfs.overlay` makes the root
//! an overlay of image layers instead of `root.path` itself. Its value is JSON
//! `{"lowerdirs": [top, …, bottom], "upperdir": DIR, "workdir": DIR}`; the overlay is mounted inside
//! the container's own mount namespace (never on the host) and pivot_root'ed into. `upperdir`'s
//! parent, when the first line of its `nsbox-layer` is the container's id, is the container's
//! writable layer: `delete`, `--rm` and the end of a foreground `run` remove it (rootfs/layer.rs).
//! `"userxattr": true` (a rootless store, whose layers mark opaque directories with
//! `user.overlay.opaque`) mounts it with overlayfs's `userxattr`.

use std::path::PathBuf;

use serde::Deserialize;

use super::SpecError;

pub const ANNOTATION_OVERLAY: &str = "org.nsbox.rootfs.overlay";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayRoot {
    pub lowerdirs: Vec<PathBuf>,
    pub upperdir: PathBuf,
    pub workdir: PathBuf,
    #[serde(default)]
    pub userxattr: bool,
    /// The container's uid and gid maps (from the spec, not the annotation): a rootless layer
    /// written under subordinate ids is removed inside a user namespace with them.
    #[serde(skip)]
    pub id_maps: Option<(Vec<nsbox_core::idmap::IdMapping>, Vec<nsbox_core::idmap::IdMapping>)>,
    /// Set by the runtime, never read from the annotation: the writable layer is removed when
    /// this container ends (a foreground `run`, a detached `--rm`), so the overlay is mounted
    /// `volatile` (rootfs/overlay.rs says why).
    #[serde(skip)]
    pub volatile: bool,
}

pub fn overlay_root(annotations: &std::collections::HashMap<String, String>) -> Result<Option<OverlayRoot>, SpecError> {
    let Some(v) = annotations.get(ANNOTATION_OVERLAY) else { return Ok(None) };
    let field = format!("annotations.{ANNOTATION_OVERLAY}");
    let o: OverlayRoot = serde_json::from_str(v).map_err(|e| SpecError::new(&field, format!("expected {{\"lowerdirs\": [...], \"upperdir\", \"workdir\"}}: {e}")))?;
    if o.lowerdirs.is_empty() {
        return Err(SpecError::new(&field, "lowerdirs is empty"));
    }
    for p in o.lowerdirs.iter().chain([&o.upperdir, &o.workdir]) {
        let s = p.to_string_lossy();
        if !p.is_absolute() || s.contains(':') || s.contains(',') {
            return Err(SpecError::new(&field, format!("{s:?}: each directory must be an absolute path without ':' or ','")));
        }
    }
    Ok(Some(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<Option<OverlayRoot>, SpecError> {
        overlay_root(&[(ANNOTATION_OVERLAY.to_string(), v.to_string())].into_iter().collect())
    }

    #[test]
    fn accepts_layers_and_refuses_the_rest() {
        let o = parse(r#"{"lowerdirs":["/s/l/b","/s/l/a"],"upperdir":"/s/c/u","workdir":"/s/c/w"}"#).unwrap().unwrap();
        assert_eq!(o.lowerdirs.len(), 2);
        assert!(!o.userxattr);
        assert!(parse(r#"{"lowerdirs":["/a"],"upperdir":"/u","workdir":"/w","userxattr":true}"#).unwrap().unwrap().userxattr);
        assert!(overlay_root(&Default::default()).unwrap().is_none());
        for bad in [
            r#"{"lowerdirs":[],"upperdir":"/u","workdir":"/w"}"#,
            r#"{"lowerdirs":["rel"],"upperdir":"/u","workdir":"/w"}"#,
            r#"{"lowerdirs":["/a:b"],"upperdir":"/u","workdir":"/w"}"#,
            r#"{"lowerdirs":["/a"],"upperdir":"/u,x","workdir":"/w"}"#,
            r#"{"lowerdirs":["/a"],"upperdir":"/u","workdir":"/w","volatile":true}"#,
            r#"not json"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.field, "annotations.org.nsbox.rootfs.overlay", "{bad}");
        }
    }
}
