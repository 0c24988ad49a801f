//! Manifests as registries serve them: OCI image index / Docker manifest list (choose a platform),
//! OCI image manifest / Docker v2 schema 2 (config + layers). Schema 1 and foreign layers are refused.

use serde::Deserialize;

use crate::digest::Digest;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// What we ask for, in order of preference.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
/// A manifest larger than this is refused before it is read (containerd's limit).
pub const MANIFEST_MAX: u64 = 4 << 20;

/// Layer media types we pull, each unpacked by the store by this type.
const LAYERS: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
];
const CONFIGS: &[&str] = &["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"];

#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub urls: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// This machine: linux and Go's name for the architecture (arm64's variant is v8, left implicit).
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            "arm" => "arm",
            other => other,
        };
        Self { os: "linux".into(), architecture: architecture.into(), variant: (architecture == "arm").then(|| "v7".into()) }
    }

    /// `os/arch[/variant]`, with docker's aliases (`x86_64`, `aarch64`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(format!("invalid platform {s:?}: expected os/arch[/variant]"));
        }
        let arch = match parts[1].to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" => "amd64".to_owned(),
            "aarch64" => "arm64".to_owned(),
            a => a.to_owned(),
        };
        Ok(Self { os: parts[0].to_ascii_lowercase(), architecture: arch, variant: parts.get(2).map(|v| v.to_ascii_lowercase()) })
    }

    /// An index entry serves us when os and arch agree and the variant does (arm64's `v8` = none).
    pub fn matches(&self, other: &Platform) -> bool {
        let norm = |p: &Platform| match (p.architecture.as_str(), p.variant.as_deref()) {
            ("arm64", Some("v8")) | ("arm64", None) => None,
            (_, v) => v.map(str::to_owned),
        };
        self.os == other.os && self.architecture == other.architecture && (self.variant.is_none() || norm(self) == norm(other))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(rename = "schemaVersion", default)]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

pub enum Parsed {
    Index(Vec<Descriptor>),
    Image { config: Descriptor, layers: Vec<Descriptor>, media_type: String },
}

/// `content_type` is the response's Content-Type, used when the body has no mediaType (OCI allows that).
pub fn parse(bytes: &[u8], content_type: &str) -> Result<Parsed, String> {
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| format!("manifest is not valid JSON: {e}"))?;
    if raw.schema_version != 2 {
        return Err(format!("manifest schema version {} is not supported (only schema 2; schema 1 is deprecated)", raw.schema_version));
    }
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let media = raw.media_type.clone().unwrap_or_else(|| {
        if raw.manifests.is_some() {
            OCI_INDEX.to_owned()
        } else if !ct.is_empty() && ct != "application/json" {
            ct.to_owned()
        } else {
            OCI_MANIFEST.to_owned()
        }
    });
    match media.as_str() {
        OCI_INDEX | DOCKER_LIST => Ok(Parsed::Index(raw.manifests.unwrap_or_default())),
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = raw.config.ok_or("manifest has no config")?;
            if !CONFIGS.contains(&config.media_type.as_str()) {
                return Err(format!("unsupported config media type {:?} (not a container image)", config.media_type));
            }
            let layers = raw.layers.unwrap_or_default();
            for l in &layers {
                if l.urls.as_ref().is_some_and(|u| !u.is_empty()) || !LAYERS.contains(&l.media_type.as_str()) {
                    return Err(format!("layer {} has unsupported media type {:?}", l.digest, l.media_type));
                }
            }
            Ok(Parsed::Image { config, layers, media_type: media })
        }
        other => Err(format!("unsupported manifest media type {other:?}")),
    }
}

pub fn digest_of(d: &Descriptor) -> Result<Digest, String> {
    Digest::parse(&d.digest).map_err(|e| e.to_string())
}

/// The index entry for `want`, or the list of what there is.
pub fn choose<'a>(entries: &'a [Descriptor], want: &Platform) -> Result<&'a Descriptor, String> {
    entries
        .iter()
        .filter(|d| d.media_type == OCI_MANIFEST || d.media_type == DOCKER_MANIFEST)
        .find(|d| d.platform.as_ref().is_some_and(|p| want.matches(p)))
        .ok_or_else(|| entries.iter().filter_map(|d| d.platform.as_ref().map(|p| p.to_string())).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        let amd = Platform::parse("linux/amd64").unwrap();
        assert!(amd.matches(&Platform::parse("linux/amd64").unwrap()));
        assert!(!amd.matches(&Platform::parse("linux/arm64").unwrap()));
        assert!(Platform::parse("linux/arm64/v8").unwrap().matches(&Platform { os: "linux".into(), architecture: "arm64".into(), variant: None }));
        assert!(Platform::parse("linux/arm/v7").unwrap().matches(&Platform::parse("linux/arm/v7").unwrap()));
        assert!(!Platform::parse("linux/arm/v6").unwrap().matches(&Platform::parse("linux/arm/v7").unwrap()));
        assert_eq!(Platform::parse("Linux/x86_64").unwrap().to_string(), "linux/amd64");
        assert!(Platform::parse("linux").is_err() && Platform::parse("linux//").is_err());
    }

    #[test]
    fn refuses_schema1_and_foreign_layers() {
        assert!(parse(br#"{"schemaVersion":1}"#, "").is_err());
        let foreign = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:x","size":1},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"sha256:y","size":1,"urls":["https://x"]}]}"#;
        assert!(parse(foreign, "").err().unwrap().contains("unsupported media type"));
    }
}
