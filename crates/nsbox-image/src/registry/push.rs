//! A push: every blob of the image the registry does not have yet (a HEAD tells), three at a time (as
//! a pull), each mounted from another repository of the same registry when the store knows one that
//! holds it (`POST …/blobs/uploads/?mount=DIGEST&from=REPO`: 201, nothing uploaded), else uploaded in
//! one PUT (POST for an upload location, or the one a declined mount answered with, then PUT with
//! `?digest=`); then the manifest under the tag. The registry verifies blob digests itself; the
//! manifest digest it answers with must equal ours. Every blob the registry took or had is noted in
//! the store as held by this repository, for later mounts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::auth::AuthFiles;
use super::config::RegistriesConfig;
use super::manifest::{self, Parsed};
use super::pull::PARALLEL;
use super::transport::{error_detail, query_escape, Client, Payload};
use super::{BlobSource, LayerState, Progress, ProgressFn, RegistryError};
use crate::digest::Digest;
use crate::reference::Reference;

#[derive(Clone, Default)]
pub struct PushOptions {
    pub config: RegistriesConfig,
    pub auth: AuthFiles,
    pub progress: Option<ProgressFn>,
    pub cancel: Option<Arc<AtomicBool>>,
}

#[derive(Debug, Clone)]
pub struct PushResult {
    pub reference: String,
    pub digest: Digest,
    pub size: u64,
}

pub fn push(store: &dyn BlobSource, reference: &str, opts: &PushOptions) -> Result<PushResult, RegistryError> {
    let r = Reference::parse(reference)?;
    let name = r.to_string();
    let store_err = |op: &'static str, digest: String| {
        let reference = name.clone();
        move |source| RegistryError::Store { reference, op, digest, source }
    };
    let manifest_digest = store.resolve(&name).map_err(store_err("resolve", name.clone()))?;
    let bytes = store.read_blob(&manifest_digest).map_err(store_err("read_blob", manifest_digest.to_string()))?;
    let bad = |detail: String| RegistryError::Manifest { reference: name.clone(), detail };
    let (config, layers, media_type) = match manifest::parse(&bytes, "").map_err(&bad)? {
        Parsed::Image { config, layers, media_type } => (config, layers, media_type),
        Parsed::Index(_) => return Err(RegistryError::Unsupported { what: "push".into(), detail: format!("{name} is a manifest list; push one platform's image") }),
    };
    let endpoint = opts.config.endpoint(&r.registry);
    let creds = opts.auth.lookup(&endpoint.host)?;
    let mut client = Client::new(endpoint, creds, &name, Some(format!("repository:{}:pull,push", r.repository)))?;
    client.cancel = opts.cancel.clone();
    let descriptors: Vec<_> = std::iter::once(&config).chain(layers.iter()).collect();
    if let Some(p) = &opts.progress {
        let ds = layers.iter().filter_map(|l| Some((manifest::digest_of(l).ok()?, l.size))).collect();
        p(Progress::Resolved { reference: name.clone(), digest: manifest_digest.clone(), layers: ds });
    }
    let digests: Vec<Digest> = descriptors.iter().map(|d| manifest::digest_of(d)).collect::<Result<_, _>>().map_err(&bad)?;
    push_blobs(store, &client, &r, &digests, opts)?;
    let tag = r.tag.clone().unwrap_or_else(|| manifest_digest.to_string());
    let path = format!("/v2/{}/manifests/{tag}", r.repository);
    let mut resp = client.request("PUT", &path, &[("Content-Type", media_type.as_str())], Payload::Bytes(&bytes))?;
    if resp.status().as_u16() != 201 {
        let s = resp.status().as_u16();
        return Err(client.refused("PUT manifest", s, error_detail(&mut resp)));
    }
    if let Some(d) = resp.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()) {
        if d != manifest_digest.to_string() {
            return Err(RegistryError::Corrupt { reference: name, what: "pushed manifest".into(), expected: manifest_digest, actual: d.to_owned() });
        }
    }
    Ok(PushResult { reference: name, digest: manifest_digest, size: bytes.len() as u64 })
}

/// The blobs, [`PARALLEL`] at a time; the first failure stops the others and is the one reported.
fn push_blobs(store: &dyn BlobSource, c: &Client, r: &Reference, digests: &[Digest], opts: &PushOptions) -> Result<(), RegistryError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first: Mutex<Option<RegistryError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(digests.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= digests.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Err(e) = push_blob(store, c, r, &digests[i], opts, &stop) {
                    stop.store(true, Ordering::Relaxed);
                    first.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                    break;
                }
            });
        }
    });
    if let Some(e) = first.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    if opts.cancel.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
        return Err(RegistryError::Cancelled { reference: c.reference().to_owned() });
    }
    Ok(())
}

/// Another repository of this registry that holds the blob, as the store noted it.
fn mount_source(store: &dyn BlobSource, r: &Reference, digest: &Digest) -> Option<String> {
    let prefix = format!("{}/", r.registry);
    store.sources(digest).into_iter().rev().filter_map(|s| s.strip_prefix(&prefix).map(str::to_owned)).find(|s| *s != r.repository)
}

enum Mount {
    /// Mounted from this repository.
    Done(String),
    /// Declined: the registry opened an upload session instead (202).
    Session(ureq::http::Response<ureq::Body>),
    /// No source known, or the credentials may not pull from it: a plain upload.
    No,
}

/// A cross-repository mount from the repository the store last saw holding the blob. Credentials that
/// may push here but not pull from there (a 401/403 for the mount) mean an upload, as before mounts:
/// the source's scope is dropped again so later tokens do not ask for it.
fn try_mount(store: &dyn BlobSource, c: &Client, r: &Reference, digest: &Digest) -> Result<Mount, RegistryError> {
    let Some(from) = mount_source(store, r, digest) else { return Ok(Mount::No) };
    let scope = format!("repository:{from}:pull");
    let added = c.add_scope(scope.clone());
    let path = format!("/v2/{}/blobs/uploads/?mount={}&from={}", r.repository, query_escape(&digest.to_string()), query_escape(&from));
    let denied = |c: &Client| {
        if added {
            c.remove_scope(&scope);
        }
        Ok(Mount::No)
    };
    match c.request("POST", &path, &[], Payload::Empty) {
        Ok(resp) if resp.status().as_u16() == 201 => Ok(Mount::Done(from)),
        Ok(resp) if matches!(resp.status().as_u16(), 401 | 403) => denied(c),
        Ok(resp) => Ok(Mount::Session(resp)),
        Err(RegistryError::Denied { .. } | RegistryError::Unauthorized { .. }) => denied(c),
        Err(e) => Err(e),
    }
}

fn push_blob(store: &dyn BlobSource, c: &Client, r: &Reference, digest: &Digest, opts: &PushOptions, stop: &AtomicBool) -> Result<(), RegistryError> {
    let emit = |state, current, total| {
        if let Some(p) = &opts.progress {
            p(Progress::Layer { digest: digest.clone(), state, current, total })
        }
    };
    let here = format!("{}/{}", r.registry, r.repository);
    // Only a hint for later pushes: failing to note it does not fail this one.
    let noted = || drop(store.note_source(digest, &here));
    let mut head = c.request("HEAD", &format!("/v2/{}/blobs/{digest}", r.repository), &[], Payload::Empty)?;
    match head.status().as_u16() {
        200 => {
            let size = head.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(0);
            emit(LayerState::AlreadyExists, size, size);
            noted();
            return Ok(());
        }
        404 => {}
        s => return Err(c.refused(&format!("HEAD blob {digest}"), s, error_detail(&mut head))),
    }
    let mut start = match try_mount(store, c, r, digest)? {
        Mount::Done(from) => {
            let size = store.open_blob(digest).map(|(_, n)| n).unwrap_or(0);
            if let Some(p) = &opts.progress {
                p(Progress::Mounted { digest: digest.clone(), from, size });
            }
            noted();
            return Ok(());
        }
        Mount::Session(resp) => resp,
        Mount::No => c.request("POST", &format!("/v2/{}/blobs/uploads/", r.repository), &[], Payload::Empty)?,
    };
    // 202: an upload session (a declined mount answers with one too).
    if start.status().as_u16() != 202 {
        let s = start.status().as_u16();
        return Err(c.refused("POST blob upload", s, error_detail(&mut start)));
    }
    let location = start.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if location.is_empty() {
        return Err(c.refused("POST blob upload", 202, "no Location header".into()));
    }
    let sep = if location.contains('?') { '&' } else { '?' };
    let url = format!("{location}{sep}digest={}", digest.to_string().replace(':', "%3A"));
    let (reader, size) = store.open_blob(digest).map_err(|source| RegistryError::Store { reference: c.reference().to_owned(), op: "open_blob", digest: digest.to_string(), source })?;
    emit(LayerState::Pushing, 0, size);
    let guarded = CancelRead { inner: reader, cancel: opts.cancel.as_deref(), stop };
    // An absolute location is used as is; a relative one is resolved against the endpoint.
    let mut put = c.request("PUT", &url, &[("Content-Type", "application/octet-stream")], Payload::Stream(Box::new(guarded), size))?;
    if put.status().as_u16() != 201 {
        let s = put.status().as_u16();
        return Err(c.refused(&format!("PUT blob {digest}"), s, error_detail(&mut put)));
    }
    emit(LayerState::Pushed, size, size);
    noted();
    Ok(())
}

/// Stops an upload when the caller cancels or another blob's push failed.
struct CancelRead<'a, R> {
    inner: R,
    cancel: Option<&'a AtomicBool>,
    stop: &'a AtomicBool,
}

impl<R: std::io::Read> std::io::Read for CancelRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) || self.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("push cancelled"));
        }
        self.inner.read(buf)
    }
}
