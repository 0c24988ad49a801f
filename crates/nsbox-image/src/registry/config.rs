//! Which endpoints serve a registry: docker's `registry-mirrors` (for docker.io only) and
//! `insecure-registries`, read from our own file in daemon.json's words:
//! `$NSBOX_REGISTRIES_CONFIG`, else `$XDG_CONFIG_HOME/nsbox/registries.json` when not root, else
//! `/etc/nsbox/registries.json`; a missing file means no mirrors and only loopback registries insecure.
//! Plain HTTP is allowed only for loopback hosts, registries listed as insecure (by `host[:port]`, or by a
//! CIDR their host resolves into), and `http://` mirrors. A registry's own CAs and client certificate
//! come from docker's `certs.d/HOST[:PORT]/` layout (registry/tls.rs): `$NSBOX_CERTS_DIR`, else
//! `$XDG_CONFIG_HOME/nsbox/certs.d` (not root) and `/etc/nsbox/certs.d`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cidr::{self, Cidr};
use super::RegistryError;
use crate::reference::{DOCKER_HUB, DOCKER_HUB_API};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistriesConfig {
    /// `https://mirror.example` or `http://127.0.0.1:5000`, tried in order before docker.io.
    #[serde(default, rename = "registry-mirrors")]
    pub mirrors: Vec<String>,
    /// `host[:port]` entries, or CIDRs (`10.0.0.0/8`), that may be reached over plain HTTP or with an
    /// unverified certificate.
    #[serde(default, rename = "insecure-registries")]
    pub insecure: Vec<String>,
    /// Where `HOST[:PORT]/` directories of CAs and client certificates are looked for (not a file key:
    /// [`RegistriesConfig::load`] fills it from the environment; empty by default).
    #[serde(skip)]
    pub certs_dirs: Vec<PathBuf>,
}

/// One place a repository's API can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://registry-1.docker.io`, `http://127.0.0.1:5000`; `None` scheme means try https, then http.
    pub scheme: Option<&'static str>,
    /// `host[:port]` (credentials are looked up by it).
    pub host: String,
    /// Plain HTTP and unverified TLS allowed.
    pub insecure: bool,
    pub mirror: bool,
    /// `certs.d/HOST[:PORT]` candidates, in order (the first is where an error tells to put a CA).
    pub certs: Vec<PathBuf>,
}

impl RegistriesConfig {
    pub fn default_path() -> PathBuf {
        if let Some(p) = std::env::var_os("NSBOX_REGISTRIES_CONFIG") {
            return PathBuf::from(p);
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            if let Some(dir) = super::auth::config_home() {
                let user = dir.join("nsbox/registries.json");
                if user.exists() {
                    return user;
                }
            }
        }
        PathBuf::from("/etc/nsbox/registries.json")
    }

    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self { certs_dirs: default_certs_dirs(), ..Self::default() }),
            Err(source) => return Err(RegistryError::Io { op: "read", path: path.display().to_string(), source }),
        };
        let mut cfg: Self = serde_json::from_str(&text).map_err(|e| RegistryError::Config { path: path.display().to_string(), detail: e.to_string() })?;
        let bad = |detail| RegistryError::Config { path: path.display().to_string(), detail };
        for m in &cfg.mirrors {
            parse_mirror(m).map_err(bad)?;
        }
        for i in &cfg.insecure {
            check_insecure(i).map_err(bad)?;
        }
        cfg.certs_dirs = default_certs_dirs();
        Ok(cfg)
    }

    /// Endpoints to pull `registry` from, in order: mirrors first for docker.io, then the registry itself.
    /// Lazy: a name is resolved (for a CIDR) only when its endpoint is about to be tried, so a mirror
    /// that serves the pull means no lookup of docker.io at all.
    pub fn pull_endpoints<'a>(&'a self, registry: &'a str) -> impl Iterator<Item = Endpoint> + 'a {
        let mirrors = if registry == DOCKER_HUB { &self.mirrors[..] } else { &[] };
        mirrors
            .iter()
            .filter_map(|m| parse_mirror(m).ok())
            .map(move |(scheme, host)| Endpoint {
                insecure: scheme == "http" || self.is_insecure(&host),
                scheme: Some(scheme),
                certs: self.certs_for(&host),
                host,
                mirror: true,
            })
            .chain(std::iter::once_with(move || self.endpoint(registry)))
    }

    /// The registry's own endpoint (push and login never go to a mirror).
    pub fn endpoint(&self, registry: &str) -> Endpoint {
        let host = if registry == DOCKER_HUB { DOCKER_HUB_API.to_owned() } else { registry.to_owned() };
        let insecure = self.is_insecure(&host);
        Endpoint { scheme: if insecure { None } else { Some("https") }, certs: self.certs_for(&host), host, insecure, mirror: false }
    }

    fn certs_for(&self, host: &str) -> Vec<PathBuf> {
        self.certs_dirs.iter().map(|d| d.join(host)).collect()
    }

    /// docker's rules: loopback, a listed `host[:port]` (or the host alone), or an address in a listed
    /// CIDR. Names are resolved only when a CIDR is listed (docker resolves every registry, and also
    /// counts names resolving to loopback; here a name is insecure only through a listed CIDR).
    fn is_insecure(&self, host: &str) -> bool {
        if is_loopback(host) || self.insecure.iter().any(|i| i.trim_end_matches('/') == host || strip_port(i) == host) {
            return true;
        }
        let cidrs: Vec<Cidr> = self.insecure.iter().filter(|i| i.contains('/')).filter_map(|i| Cidr::parse(i).ok()).collect();
        !cidrs.is_empty() && cidr::addresses(strip_port(host)).into_iter().any(|ip| cidrs.iter().any(|c| c.contains(ip)))
    }
}

/// `$NSBOX_CERTS_DIR` alone when set; else the user's `nsbox/certs.d` (not root) and `/etc/nsbox/certs.d`.
pub fn default_certs_dirs() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("NSBOX_CERTS_DIR").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(p)];
    }
    let mut out = Vec::new();
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        out.extend(super::auth::config_home().map(|d| d.join("nsbox/certs.d")));
    }
    out.push(PathBuf::from("/etc/nsbox/certs.d"));
    out
}

/// An `insecure-registries` entry: `host[:port]`, or a CIDR when it has a `/`.
fn check_insecure(i: &str) -> Result<(), String> {
    if i.contains("://") {
        return Err(format!("insecure-registries: {i:?}: a registry is host[:port] or a CIDR, without a scheme"));
    }
    if i.contains('/') {
        Cidr::parse(i).map_err(|e| format!("insecure-registries: {e}"))?;
    } else if i.is_empty() || i.contains(['?', '#', '@', ' ']) {
        return Err(format!("insecure-registries: {i:?} is not host[:port] or a CIDR"));
    }
    Ok(())
}

/// `scheme://host[:port]` with nothing after the host (docker refuses mirror paths too).
fn parse_mirror(m: &str) -> Result<(&'static str, String), String> {
    let (scheme, rest) = if let Some(r) = m.strip_prefix("https://") {
        ("https", r)
    } else if let Some(r) = m.strip_prefix("http://") {
        ("http", r)
    } else {
        return Err(format!("registry-mirrors: {m:?}: must start with http:// or https://"));
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains(['/', '?', '#', '@']) {
        return Err(format!("registry-mirrors: {m:?}: a mirror is scheme://host[:port] without a path"));
    }
    Ok((scheme, host.to_owned()))
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// docker treats 127.0.0.0/8 and ::1 (and `localhost`) as insecure by default.
pub fn is_loopback(host: &str) -> bool {
    let h = strip_port(host);
    h == "localhost" || h == "::1" || h.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_for_docker_hub_only_and_insecure_rules() {
        let c = RegistriesConfig { mirrors: vec!["http://127.0.0.1:5000/".into(), "https://m.example".into()], insecure: vec!["r.lan:5000".into()], certs_dirs: vec![] };
        let e: Vec<Endpoint> = c.pull_endpoints("docker.io").collect();
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].scheme, e[0].host.as_str(), e[0].insecure, e[0].mirror), (Some("http"), "127.0.0.1:5000", true, true));
        assert_eq!((e[1].scheme, e[1].insecure), (Some("https"), false));
        assert_eq!((e[2].host.as_str(), e[2].scheme, e[2].mirror), ("registry-1.docker.io", Some("https"), false));
        assert_eq!(c.pull_endpoints("quay.io").count(), 1);
        assert!(c.endpoint("r.lan:5000").insecure);
        assert!(!c.endpoint("r.lan:5001").insecure);
        assert!(c.endpoint("127.0.0.1:9").insecure && c.endpoint("localhost").insecure && c.endpoint("[::1]:5000").insecure);
        assert!(!c.endpoint("127.example.com").insecure);
        assert!(parse_mirror("ftp://x").is_err() && parse_mirror("https://x/path").is_err());
    }

    #[test]
    fn insecure_cidrs_match_addresses_and_resolved_names() {
        let c = RegistriesConfig { insecure: vec!["10.0.0.0/8".into(), "127.0.0.0/8".into()], ..Default::default() };
        assert!(c.endpoint("10.1.2.3:5000").insecure && c.endpoint("10.1.2.3").insecure);
        assert_eq!(c.endpoint("10.1.2.3:5000").scheme, None, "https first, then plain http");
        assert!(!c.endpoint("11.0.0.1:5000").insecure);
        // Names are resolved (tests/images/registry-tls.test.ts does it through a private /etc/hosts).
        let none = RegistriesConfig::default();
        assert!(!none.endpoint("10.1.2.3:5000").insecure);
        let v6 = RegistriesConfig { insecure: vec!["fd00::/8".into()], ..Default::default() };
        assert!(v6.endpoint("[fd00::5]:5000").insecure && !v6.endpoint("[fe80::5]:5000").insecure);
        assert!(check_insecure("10.0.0.0/8").is_ok() && check_insecure("r.lan:5000").is_ok());
        for bad in ["10.0.0.0/40", "http://r.lan", "r/x", ""] {
            assert!(check_insecure(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn insecure_entries_are_checked_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, r#"{"insecure-registries":["10.0.0.0/33"]}"#).unwrap();
        let e = RegistriesConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("r.json") && e.contains("10.0.0.0/33") && e.contains("prefix length"), "{e}");
        std::fs::write(&p, r#"{"insecure-registries":["10.0.0.0/8","r.lan:5000"]}"#).unwrap();
        assert_eq!(RegistriesConfig::load(&p).unwrap().insecure.len(), 2);
    }
}
