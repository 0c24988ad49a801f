//! HTTP to one registry endpoint with the auth dance: a request goes out anonymously (or with the token
//! already earned), a 401 carries `WWW-Authenticate`; `Bearer realm=…,service=…` sends us to the token
//! server (with basic credentials when we have some) for a token scoped to this repository, `Basic`
//! takes the credentials directly; then the request is sent once more. Shared by the downloader threads.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ureq::http::{Request, Response};
use ureq::tls::TlsConfig;
use ureq::{Agent, Body, SendBody};

use super::auth::Credentials;
use super::config::{is_loopback, Endpoint};
use super::tls::{self, TlsFiles};
use super::RegistryError;

pub(crate) enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// Sent once: requests with a stream are only made after an earlier request earned the token.
    Stream(Box<dyn Read + Send + 'a>, u64),
}

pub(crate) struct Client {
    pub endpoint: Endpoint,
    creds: Option<Credentials>,
    /// The reference errors name.
    reference: String,
    /// `repository:team/app:pull` (`pull,push` for a push, plus `repository:other:pull` for each
    /// repository a push mounts blobs from); none for a login check.
    scopes: Mutex<Vec<String>>,
    secure: Agent,
    unverified: Agent,
    scheme: Mutex<Option<&'static str>>,
    authorization: Mutex<Option<String>>,
    pub cancel: Option<Arc<AtomicBool>>,
}

/// `tls`: the registry's own CAs and client certificate (certs.d), when it has some.
fn agent(verify: bool, tls: Option<&TlsFiles>) -> Agent {
    let mut t = TlsConfig::builder().disable_verification(!verify);
    if let Some(f) = tls {
        t = t.root_certs(f.roots()).client_cert(f.client.clone());
    }
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        // A registry silent this long in the middle of a body is gone; no limit on the whole body (layers are large).
        .timeout_per_read(Some(Duration::from_secs(60)))
        .max_redirects(5)
        .user_agent(concat!("nsbox/", env!("CARGO_PKG_VERSION")))
        .tls_config(t.build())
        .build()
        .into()
}

/// `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}` → `MANIFEST_UNKNOWN: …`, else the raw text.
pub(crate) fn error_detail(resp: &mut Response<Body>) -> String {
    let text = resp.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
    let parsed: Option<Vec<String>> = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| {
        v.get("errors")?.as_array().map(|errs| {
            errs.iter()
                .map(|e| format!("{}: {}", e.get("code").and_then(|c| c.as_str()).unwrap_or("ERROR"), e.get("message").and_then(|m| m.as_str()).unwrap_or("")))
                .collect()
        })
    });
    match parsed {
        Some(list) if !list.is_empty() => list.join("; "),
        _ if text.trim().is_empty() => resp.status().canonical_reason().unwrap_or("no details").to_owned(),
        _ => text.trim().chars().take(300).collect(),
    }
}

pub(crate) fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// `Bearer realm="https://auth",service="registry",scope="repository:x:pull"` → ("bearer", params).
fn parse_challenge(h: &str) -> (String, Vec<(String, String)>) {
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else { break };
        let (v, after) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.push((k.trim().to_ascii_lowercase(), v.to_owned()));
        rest = after.trim_start_matches([',', ' ']);
    }
    (scheme.to_ascii_lowercase(), params)
}

impl Client {
    /// Fails only on the registry's certs.d files (unreadable, a key without its certificate…).
    pub fn new(endpoint: Endpoint, creds: Option<Credentials>, reference: &str, scope: Option<String>) -> Result<Self, RegistryError> {
        let scheme = endpoint.scheme;
        let files = tls::load(&endpoint.certs)?;
        Ok(Self {
            secure: agent(true, files.as_ref()),
            unverified: agent(false, files.as_ref()),
            endpoint,
            creds,
            reference: reference.to_owned(),
            scopes: Mutex::new(scope.into_iter().collect()),
            scheme: Mutex::new(scheme),
            authorization: Mutex::new(None),
            cancel: None,
        })
    }

    /// Asks the token server for one more scope from the next token on (a mount's source repository).
    /// Returns whether it was new; the token already earned stays until a 401 asks for another.
    pub fn add_scope(&self, scope: String) -> bool {
        let mut s = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        if s.contains(&scope) {
            return false;
        }
        s.push(scope);
        true
    }

    pub fn remove_scope(&self, scope: &str) {
        self.scopes.lock().unwrap_or_else(|p| p.into_inner()).retain(|s| s != scope);
    }

    pub fn reference(&self) -> &str {
        &self.reference
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }

    fn unreachable(&self, detail: impl std::fmt::Display) -> RegistryError {
        let detail = detail.to_string();
        let dir = || self.endpoint.certs.first().map_or_else(|| format!("certs.d/{}", self.endpoint.host), |p| p.display().to_string());
        let cert = |detail: String, hint: String| RegistryError::Certificate { reference: self.reference.clone(), registry: self.endpoint.host.clone(), detail, hint };
        // rustls words every verification failure "invalid peer certificate: …" (UnknownIssuer, NotValidForName…).
        if detail.contains("invalid peer certificate") {
            return cert(format!("not trusted: {detail}"), format!("a private CA goes in {}/ca.crt, docker's certs.d layout", dir()));
        }
        // The registry's alert when it wants a client certificate we did not have, or did not accept ours.
        if detail.contains("fatal alert: BadCertificate") || detail.contains("fatal alert: CertificateRequired") || detail.contains("fatal alert: UnknownCA") {
            return cert(format!("refused by the registry: {detail}"), format!("it asks for a client certificate: {0}/client.cert and {0}/client.key", dir()));
        }
        RegistryError::Unreachable { reference: self.reference.clone(), registry: self.endpoint.host.clone(), detail }
    }

    fn agent(&self) -> &Agent {
        if self.endpoint.insecure {
            &self.unverified
        } else {
            &self.secure
        }
    }

    fn send(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &mut Payload<'_>) -> Result<Response<Body>, ureq::Error> {
        let mut req = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        // Credentials go to the registry's own host only, never to an upload location elsewhere.
        let host = url.split("://").nth(1).and_then(|r| r.split(['/', '?']).next()).unwrap_or("");
        if host == self.endpoint.host {
            if let Some(a) = self.authorization.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                req = req.header("Authorization", a);
            }
        }
        let agent = self.agent();
        match body {
            Payload::Empty => agent.run(req.body(()).map_err(ureq::Error::from)?),
            Payload::Bytes(b) => agent.run(req.header("Content-Length", b.len().to_string()).body(*b).map_err(ureq::Error::from)?),
            Payload::Stream(r, len) => {
                let req = req.header("Content-Length", len.to_string()).body(SendBody::from_reader(r)).map_err(ureq::Error::from)?;
                agent.run(req)
            }
        }
    }

    /// `path` is `/v2/…` or an absolute URL (upload locations); sends, authenticating on a 401.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], mut body: Payload<'_>) -> Result<Response<Body>, RegistryError> {
        if self.cancelled() {
            return Err(RegistryError::Cancelled { reference: self.reference.clone() });
        }
        let mut resp = self.send_resolving(method, path, headers, &mut body)?;
        if resp.status() == 401 && !matches!(body, Payload::Stream(..)) {
            let challenge = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let detail = error_detail(&mut resp);
            self.authenticate(&challenge, &detail)?;
            resp = self.send_resolving(method, path, headers, &mut body)?;
        }
        if resp.status() == 401 {
            let detail = error_detail(&mut resp);
            return Err(self.auth_failure(detail));
        }
        Ok(resp)
    }

    fn auth_failure(&self, detail: String) -> RegistryError {
        match self.creds {
            Some(_) => RegistryError::Unauthorized { reference: self.reference.clone(), registry: self.endpoint.host.clone(), detail },
            None => RegistryError::Denied { reference: self.reference.clone(), detail },
        }
    }

    /// An endpoint without a fixed scheme (insecure) is tried over https first, then plain http.
    fn send_resolving(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &mut Payload<'_>) -> Result<Response<Body>, RegistryError> {
        if path.starts_with("http://") || path.starts_with("https://") {
            return self.send(method, path, headers, body).map_err(|e| self.unreachable(e));
        }
        let known = *self.scheme.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = known {
            return self.send(method, &format!("{s}://{}{path}", self.endpoint.host), headers, body).map_err(|e| self.unreachable(e));
        }
        let first = self.send(method, &format!("https://{}{path}", self.endpoint.host), headers, body);
        let (scheme, result) = match first {
            Ok(r) => ("https", Ok(r)),
            // The server answered with a TLS alert: it speaks https (and refused us, e.g. for want of a
            // client certificate); plain http would only get "HTTP request to an HTTPS server".
            Err(e) if e.to_string().contains("received fatal alert") => return Err(self.unreachable(e)),
            Err(https_err) if !matches!(body, Payload::Stream(..)) => match self.send(method, &format!("http://{}{path}", self.endpoint.host), headers, body) {
                Ok(r) => ("http", Ok(r)),
                Err(http_err) => return Err(self.unreachable(format!("https: {https_err}; http: {http_err}"))),
            },
            Err(e) => return Err(self.unreachable(e)),
        };
        *self.scheme.lock().unwrap_or_else(|p| p.into_inner()) = Some(scheme);
        result
    }

    fn authenticate(&self, challenge: &str, first_detail: &str) -> Result<(), RegistryError> {
        let (scheme, params) = parse_challenge(challenge);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let basic = self.creds.as_ref().map(|c| format!("Basic {}", B64.encode(format!("{}:{}", c.username, c.password))));
        let header = match scheme.as_str() {
            "basic" => basic.ok_or_else(|| self.auth_failure(format!("authentication required: {first_detail}")))?,
            "bearer" => {
                let realm = get("realm").ok_or_else(|| self.refused("authenticate", 401, format!("bearer challenge without a realm: {challenge}")))?;
                format!("Bearer {}", self.fetch_token(realm, get("service"), get("scope"), basic)?)
            }
            _ => return Err(self.refused("authenticate", 401, format!("unsupported challenge {challenge:?}: {first_detail}"))),
        };
        *self.authorization.lock().unwrap_or_else(|p| p.into_inner()) = Some(header);
        Ok(())
    }

    pub fn refused(&self, op: &str, status: u16, detail: String) -> RegistryError {
        RegistryError::Refused { reference: self.reference.clone(), registry: self.endpoint.host.clone(), op: op.to_owned(), status, detail }
    }

    fn fetch_token(&self, realm: &str, service: Option<&str>, challenge_scope: Option<&str>, basic: Option<String>) -> Result<String, RegistryError> {
        let realm_host = realm.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or("");
        if realm.starts_with("http://") && !(self.endpoint.insecure || is_loopback(realm_host)) {
            return Err(self.refused("authenticate", 401, format!("token realm {realm} is plain http for a secure registry")));
        }
        let mut query = Vec::new();
        if let Some(s) = service {
            query.push(format!("service={}", query_escape(s)));
        }
        let ours = self.scopes.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if ours.is_empty() {
            query.extend(challenge_scope.map(|s| format!("scope={}", query_escape(s))));
        }
        query.extend(ours.iter().map(|s| format!("scope={}", query_escape(s))));
        let sep = if realm.contains('?') { '&' } else { '?' };
        let url = if query.is_empty() { realm.to_owned() } else { format!("{realm}{sep}{}", query.join("&")) };
        let mut req = Request::builder().method("GET").uri(&url);
        if let Some(b) = basic {
            req = req.header("Authorization", b);
        }
        let req = req.body(()).map_err(|e| self.unreachable(e))?;
        let agent = if self.endpoint.insecure || is_loopback(realm_host) { &self.unverified } else { &self.secure };
        let mut resp = agent.run(req).map_err(|e| self.unreachable(format!("token server {realm}: {e}")))?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(self.auth_failure(format!("token server {realm}: {}", error_detail(&mut resp))));
        }
        if status != 200 {
            return Err(self.refused("token", status, format!("token server {realm}: {}", error_detail(&mut resp))));
        }
        let text = resp.body_mut().with_config().limit(1 << 20).read_to_string().map_err(|e| self.unreachable(format!("token server {realm}: {e}")))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| self.refused("token", status, format!("token server {realm}: {e}")))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_owned)
            .ok_or_else(|| self.refused("token", status, format!("token server {realm}: no token in its answer")))
    }

    /// `GET /v2/`: 200 once authenticated (login's check).
    pub fn check_login(&mut self) -> Result<(), RegistryError> {
        let mut resp = self.request("GET", "/v2/", &[], Payload::Empty)?;
        match resp.status().as_u16() {
            200 => Ok(()),
            s => Err(self.refused("login", s, error_detail(&mut resp))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let (s, p) = parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#);
        assert_eq!(s, "bearer");
        assert_eq!(p[0], ("realm".into(), "https://auth.docker.io/token".into()));
        assert_eq!(p[2].1, "repository:library/alpine:pull,push");
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!((s.as_str(), p[0].1.as_str()), ("basic", "Registry Realm"));
        assert_eq!(query_escape("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
    }
}
