//! A registry's own TLS material in docker's `certs.d` layout: in each `DIR/HOST[:PORT]/`, every
//! `*.crt` is a CA trusted for that registry only (beside the system's roots), and a `NAME.cert` with
//! its `NAME.key` is the client certificate offered to it. docker refuses a `.cert` without its `.key`
//! and the other way round; so do we, naming the file. Several client pairs are refused too (docker
//! offers each; rustls takes one), so which one is used is never a guess.

use std::path::{Path, PathBuf};

use ureq::tls::{parse_pem, Certificate, ClientCert, PemItem, PrivateKey, RootCerts};

use super::RegistryError;

/// Debian's bundle of the system's roots (ca-certificates): docker starts from the system pool too.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Clone)]
pub(crate) struct TlsFiles {
    /// The registry's own CAs (empty: only the default roots).
    pub cas: Vec<Certificate<'static>>,
    pub client: Option<ClientCert>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsFiles({} CAs, client certificate: {})", self.cas.len(), self.client.is_some())
    }
}

impl TlsFiles {
    /// Roots to verify this registry with: the system's plus its own, or the default (webpki) ones.
    pub fn roots(&self) -> RootCerts {
        if self.cas.is_empty() {
            return RootCerts::WebPki;
        }
        let mut all = std::fs::read(SYSTEM_BUNDLE).map(|b| certs_in(&b)).unwrap_or_default();
        all.extend(self.cas.iter().cloned());
        RootCerts::new_with_certs(&all)
    }
}

fn bad(path: &Path, detail: impl Into<String>) -> RegistryError {
    RegistryError::Config { path: path.display().to_string(), detail: detail.into() }
}

fn certs_in(pem: &[u8]) -> Vec<Certificate<'static>> {
    parse_pem(pem).filter_map(|i| match i {
        Ok(PemItem::Certificate(c)) => Some(c),
        _ => None,
    }).collect()
}

fn read(path: &Path) -> Result<Vec<u8>, RegistryError> {
    std::fs::read(path).map_err(|source| RegistryError::Io { op: "read", path: path.display().to_string(), source })
}

fn key_in(path: &Path) -> Result<PrivateKey<'static>, RegistryError> {
    let pem = read(path)?;
    PrivateKey::from_pem(&pem).map_err(|e| bad(path, format!("no private key: {e}")))
}

/// What the `certs.d/HOST[:PORT]` directories hold (missing directories are fine); None when nothing.
pub(crate) fn load(dirs: &[PathBuf]) -> Result<Option<TlsFiles>, RegistryError> {
    let mut out = TlsFiles { cas: Vec::new(), client: None };
    let mut client_from: Option<PathBuf> = None;
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(RegistryError::Io { op: "read dir", path: dir.display().to_string(), source }),
        };
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            match ext {
                "crt" => {
                    let certs = certs_in(&read(&p)?);
                    if certs.is_empty() {
                        return Err(bad(&p, "no PEM certificate in this CA file"));
                    }
                    out.cas.extend(certs);
                }
                "cert" => {
                    let key = p.with_extension("key");
                    if !key.is_file() {
                        return Err(bad(&p, format!("client certificate without its key {}", key.display())));
                    }
                    if let Some(first) = &client_from {
                        return Err(bad(&p, format!("a second client certificate (first: {}); keep one pair", first.display())));
                    }
                    let chain = certs_in(&read(&p)?);
                    if chain.is_empty() {
                        return Err(bad(&p, "no PEM certificate in this client certificate file"));
                    }
                    out.client = Some(ClientCert::new_with_certs(&chain, key_in(&key)?));
                    client_from = Some(p);
                }
                "key" if !p.with_extension("cert").is_file() => {
                    return Err(bad(&p, format!("client key without its certificate {}", p.with_extension("cert").display())));
                }
                _ => {}
            }
        }
    }
    Ok((!out.cas.is_empty() || out.client.is_some()).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real certificate and key made by openssl (present wherever the tests run: tests/deps/debian.txt).
    fn pair(dir: &Path, stem: &str) {
        let st = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=t", "-days", "1"])
            .arg("-keyout").arg(dir.join(format!("{stem}.key")))
            .arg("-out").arg(dir.join(format!("{stem}.pem")))
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl");
        assert!(st.success());
    }

    #[test]
    fn reads_docker_certs_d() {
        let tmp = tempfile::tempdir().unwrap();
        let host = tmp.path().join("reg.test:5000");
        std::fs::create_dir(&host).unwrap();
        assert!(load(&[tmp.path().join("missing:1"), host.clone()]).unwrap().is_none(), "nothing there: default roots");
        pair(tmp.path(), "ca");
        std::fs::copy(tmp.path().join("ca.pem"), host.join("ca.crt")).unwrap();
        std::fs::write(host.join("README"), "ignored").unwrap();
        let t = load(&[host.clone()]).unwrap().unwrap();
        assert_eq!((t.cas.len(), t.client.is_none()), (1, true));
        assert!(matches!(t.roots(), RootCerts::Specific(ref all) if all.len() >= 1));
        pair(tmp.path(), "client");
        std::fs::copy(tmp.path().join("client.pem"), host.join("client.cert")).unwrap();
        let e = load(&[host.clone()]).unwrap_err().to_string();
        assert!(e.contains("client.cert") && e.contains("without its key"), "{e}");
        std::fs::copy(tmp.path().join("client.key"), host.join("client.key")).unwrap();
        let t = load(&[host.clone()]).unwrap().unwrap();
        assert!(t.client.is_some());
        std::fs::copy(tmp.path().join("client.key"), host.join("other.key")).unwrap();
        let e = load(&[host.clone()]).unwrap_err().to_string();
        assert!(e.contains("other.key") && e.contains("without its certificate"), "{e}");
        std::fs::remove_file(host.join("other.key")).unwrap();
        std::fs::write(host.join("bad.crt"), "not pem").unwrap();
        assert!(load(&[host]).unwrap_err().to_string().contains("bad.crt"));
    }
}
