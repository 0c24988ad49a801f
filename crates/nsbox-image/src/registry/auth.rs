//! Registry credentials. `nsbox login` writes `$XDG_CONFIG_HOME/nsbox/auth.json` (default
//! `~/.config/nsbox/auth.json`, or `$NSBOX_AUTH_FILE`), mode 0600 in a 0700 directory, in docker's
//! config.json format (`{"auths": {"host": {"auth": base64(user:password)}}}`), so the file reads like
//! docker's and survives a reboot (podman's `$XDG_RUNTIME_DIR` one does not), while docker's own
//! `~/.docker/config.json` is never written: it may delegate to a `credsStore` we must not bypass.
//! Lookups read ours first, then docker's (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`):
//! `credHelpers[host]`, then `credsStore`, then `auths`, helpers through docker's real protocol
//! (`docker-credential-NAME get`, the server on stdin, `{"Username","Secret"}` on stdout).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::RegistryError;
use crate::reference::{DOCKER_HUB, DOCKER_HUB_API};

/// docker's key for Docker Hub in `auths` and for its credential helpers.
pub const HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

#[derive(Debug, Clone)]
pub struct AuthFiles {
    /// Ours: written by login, read first.
    pub ours: PathBuf,
    /// docker's config.json, read only.
    pub docker: Option<PathBuf>,
}

pub(crate) fn config_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

impl Default for AuthFiles {
    fn default() -> Self {
        let ours = std::env::var_os("NSBOX_AUTH_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| config_home().unwrap_or_else(|| PathBuf::from("/root/.config")).join("nsbox/auth.json"));
        let docker = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
            .map(|d| d.join("config.json"));
        Self { ours, docker }
    }
}

/// The key a server is stored under: docker.io's spellings → docker's hub key; else `host[:port]`.
pub fn server_key(server: &str) -> String {
    let s = server.trim();
    let host = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
    let host = host.split('/').next().unwrap_or(host);
    if [DOCKER_HUB, DOCKER_HUB_API, "index.docker.io"].contains(&host) {
        HUB_KEY.to_owned()
    } else {
        host.to_owned()
    }
}

fn read_json(path: &Path) -> Result<Option<Value>, RegistryError> {
    match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| RegistryError::Config { path: path.display().to_string(), detail: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistryError::Io { op: "read", path: path.display().to_string(), source }),
    }
}

/// `auths` keys may be URLs (`https://host/v1/`) or bare hosts; compare by key.
fn find_auth<'a>(auths: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    auths.iter().find(|(k, _)| server_key(k) == key).map(|(_, v)| v)
}

fn decode_auth(entry: &Value, path: &Path) -> Result<Option<Credentials>, RegistryError> {
    if let Some(tok) = entry.get("identitytoken").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials { username: "<token>".into(), password: tok.into() }));
    }
    let Some(b64) = entry.get("auth").and_then(Value::as_str).filter(|a| !a.is_empty()) else { return Ok(None) };
    let bad = |d: &str| RegistryError::Config { path: path.display().to_string(), detail: format!("auths: {d}") };
    let raw = B64.decode(b64.trim()).map_err(|e| bad(&e.to_string()))?;
    let text = String::from_utf8(raw).map_err(|_| bad("auth is not UTF-8"))?;
    let (u, p) = text.split_once(':').ok_or_else(|| bad("auth is not base64(user:password)"))?;
    Ok(Some(Credentials { username: u.into(), password: p.into() }))
}

impl AuthFiles {
    /// Credentials for an endpoint host (`registry-1.docker.io` finds docker.io's), or none (anonymous).
    pub fn lookup(&self, host: &str) -> Result<Option<Credentials>, RegistryError> {
        let key = server_key(host);
        if let Some(v) = read_json(&self.ours)? {
            if let Some(entry) = v.get("auths").and_then(Value::as_object).and_then(|a| find_auth(a, &key)) {
                if let Some(c) = decode_auth(entry, &self.ours)? {
                    return Ok(Some(c));
                }
            }
        }
        let Some(path) = &self.docker else { return Ok(None) };
        let Some(v) = read_json(path)? else { return Ok(None) };
        let helper = v
            .get("credHelpers")
            .and_then(Value::as_object)
            .and_then(|h| h.iter().find(|(k, _)| server_key(k) == key))
            .and_then(|(_, n)| n.as_str())
            .or_else(|| v.get("credsStore").and_then(Value::as_str))
            .filter(|n| !n.is_empty());
        if let Some(name) = helper {
            return helper_get(name, &key);
        }
        match v.get("auths").and_then(Value::as_object).and_then(|a| find_auth(a, &key)) {
            Some(entry) => decode_auth(entry, path),
            None => Ok(None),
        }
    }

    /// Stores credentials for `server` in our file (0600, written whole and renamed into place).
    pub fn store(&self, server: &str, creds: &Credentials) -> Result<(), RegistryError> {
        let mut v = read_json(&self.ours)?.unwrap_or_else(|| json!({}));
        let auth = B64.encode(format!("{}:{}", creds.username, creds.password));
        let obj = v.as_object_mut().ok_or_else(|| RegistryError::Config { path: self.ours.display().to_string(), detail: "not a JSON object".into() })?;
        let auths = obj.entry("auths").or_insert_with(|| json!({}));
        if let Some(a) = auths.as_object_mut() {
            a.retain(|k, _| server_key(k) != server_key(server));
            a.insert(server_key(server), json!({ "auth": auth }));
        }
        self.write(&v)
    }

    /// Removes `server` from our file; false when it was not there.
    pub fn remove(&self, server: &str) -> Result<bool, RegistryError> {
        let Some(mut v) = read_json(&self.ours)? else { return Ok(false) };
        let key = server_key(server);
        let Some(auths) = v.get_mut("auths").and_then(Value::as_object_mut) else { return Ok(false) };
        let before = auths.len();
        auths.retain(|k, _| server_key(k) != key);
        if auths.len() == before {
            return Ok(false);
        }
        self.write(&v)?;
        Ok(true)
    }

    fn write(&self, v: &Value) -> Result<(), RegistryError> {
        let path = &self.ours;
        let io = |op: &'static str, p: &Path| {
            let path = p.display().to_string();
            move |source| RegistryError::Io { op, path, source }
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io("mkdir", dir))?;
        let tmp = dir.join(format!(".auth.json.{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io("create", &tmp))?;
        let text = serde_json::to_vec_pretty(v).unwrap_or_default();
        let done = f.write_all(&text).and_then(|_| f.sync_all()).map_err(io("write", &tmp)).and_then(|_| std::fs::rename(&tmp, path).map_err(io("rename", path)));
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        done
    }
}

/// docker-credential-NAME get: the server on stdin; exit 1 with "credentials not found" means none.
fn helper_get(name: &str, key: &str) -> Result<Option<Credentials>, RegistryError> {
    let helper = format!("docker-credential-{name}");
    let err = |detail: String| RegistryError::Helper { helper: helper.clone(), registry: key.to_owned(), detail };
    let mut child = Command::new(&helper).arg("get").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| err(format!("run: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(key.as_bytes()).map_err(|e| err(format!("write stdin: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| err(format!("wait: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        return Err(err(format!("{}: {}{}", out.status, stdout.trim(), String::from_utf8_lossy(&out.stderr).trim())));
    }
    let v: Value = serde_json::from_str(&stdout).map_err(|e| err(format!("parse its output: {e}")))?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (username, password) = (field("Username"), field("Secret"));
    Ok((!password.is_empty()).then_some(Credentials { username, password }))
}

/// Checks the credentials against the registry (docker does too), then stores them.
pub fn login(files: &AuthFiles, cfg: &super::RegistriesConfig, server: &str, creds: &Credentials) -> Result<(), RegistryError> {
    let key = server_key(server);
    let registry = if key == HUB_KEY { DOCKER_HUB.to_owned() } else { key.clone() };
    let mut client = super::transport::Client::new(cfg.endpoint(&registry), Some(creds.clone()), &registry, None)?;
    client.check_login()?;
    files.store(server, creds)
}

/// Forgets `server`'s credentials in our file; false when there were none.
pub fn logout(files: &AuthFiles, server: &str) -> Result<bool, RegistryError> {
    files.remove(server)
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
