//! Image references as docker reads them (distribution/reference's grammar and its normalizing):
//! `alpine` → `docker.io/library/alpine:latest`, `host:5000/team/app:1.4`, `name@sha256:…`, `name:tag@sha256:…`.
//! Errors carry docker's own words (`invalid reference format`, `… must be lowercase`) so messages read
//! the same as docker's for the same input.

use std::fmt;

use crate::digest::Digest;

pub const DOCKER_HUB: &str = "docker.io";
/// The host docker.io's API is really served from.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
const NAME_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format: {0:?}")]
    Format(String),
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format: repository name ({0}) must not be more than 255 characters")]
    TooLong(String),
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("invalid reference format: {reference:?}: unsupported digest algorithm (only sha256 is)")]
    DigestAlgorithm { reference: String },
    #[error("invalid reference format: {reference:?}: invalid checksum digest format")]
    DigestFormat { reference: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `docker.io`, `quay.io`, `127.0.0.1:5000`, `[::1]:5000`.
    pub registry: String,
    /// `library/alpine`, `team/app`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalizes like docker's `ParseNormalizedNamed` + `TagNameOnly`: a bare name gets `:latest`.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let bad = || ReferenceError::Format(s.to_owned());
        if s.is_empty() || s.len() > 4096 {
            return Err(bad());
        }
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(ReferenceError::HexName(s.to_owned()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(parse_digest(s, d)?)),
            None => (s, None),
        };
        // A tag is after the last ':' that comes after the last '/' (a ':' before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(bad());
            }
        }
        let (registry, path) = split_domain(name);
        if !registry.is_empty() && !valid_domain(&registry) {
            return Err(bad());
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) && valid_path(&path.to_ascii_lowercase()) {
            return Err(ReferenceError::Uppercase(path));
        }
        if !valid_path(&path) {
            return Err(bad());
        }
        if name.len() > NAME_MAX {
            return Err(ReferenceError::TooLong(name.to_owned()));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_owned()),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_owned()),
        };
        Ok(Self { registry, repository: path, tag, digest })
    }

    /// `docker.io/library/alpine`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What the manifest URL ends in: the digest when there is one (it wins over a tag, as in docker).
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// The same repository at another digest (a platform's manifest inside an index).
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self { digest: Some(digest), tag: None, ..self.clone() }
    }

    /// The host whose API serves this registry (`docker.io` is served by `registry-1.docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// docker's short form (`alpine:latest`, `team/app:1.4` on docker.io), used in its status lines.
    pub fn familiar(&self) -> String {
        let mut out = if self.registry == DOCKER_HUB {
            let repo = &self.repository;
            repo.strip_prefix("library/").filter(|r| !r.contains('/')).unwrap_or(repo).to_owned()
        } else {
            self.name()
        };
        if let Some(t) = &self.tag {
            out = format!("{out}:{t}");
        }
        if let Some(d) = &self.digest {
            out = format!("{out}@{d}");
        }
        out
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn parse_digest(whole: &str, d: &str) -> Result<Digest, ReferenceError> {
    let (algo, hex) = d.split_once(':').ok_or_else(|| ReferenceError::Format(whole.to_owned()))?;
    let algo_ok = !algo.is_empty() && algo.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    if !algo_ok || hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'_' || b == b'-') {
        return Err(ReferenceError::Format(whole.to_owned()));
    }
    if algo != "sha256" {
        return Err(ReferenceError::DigestAlgorithm { reference: whole.to_owned() });
    }
    Digest::parse(d).map_err(|_| ReferenceError::DigestFormat { reference: whole.to_owned() })
}

/// docker's splitDockerDomain: the first component is a registry when it has a '.' or ':', is
/// `localhost`, or has an uppercase letter (which then fails as a domain-name only if invalid).
fn split_domain(name: &str) -> (String, String) {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first => {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DOCKER_HUB.to_owned(), name.to_owned()),
    };
    let domain = if domain == "index.docker.io" { DOCKER_HUB.to_owned() } else { domain };
    let path = if domain == DOCKER_HUB && !path.contains('/') { format!("library/{path}") } else { path };
    (domain, path)
}

/// `[\w][\w.-]{0,127}`.
fn valid_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = t.as_bytes();
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// host[:port], host a domain name, IPv4 or `[IPv6]`.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else { return false };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => (None, p.strip_prefix(':').map(Some).unwrap_or(Some(""))),
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    let component = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric() && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
    };
    host.is_none_or(|h| h.split('.').all(component))
}

/// path-component ('/' path-component)*, each `[a-z0-9]+ (([_.]|__|[-]*) [a-z0-9]+)*`.
fn valid_path(p: &str) -> bool {
    !p.is_empty() && p.split('/').all(valid_component)
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

#[cfg(test)]
#[path = "reference_tests.rs"]
mod tests;
