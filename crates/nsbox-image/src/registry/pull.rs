//! A pull: resolve the reference to one manifest for our platform (mirrors first for docker.io), then
//! the config, then the layers three at a time, each streamed into the store (which verifies its
//! digest before keeping it) and unpacked there; the uncompressed digests must equal the config's
//! diff_ids. Manifests are stored and the reference tagged only once all of that held, so a pull
//! killed at any point leaves no tag pointing at anything incomplete.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex};

use super::auth::AuthFiles;
use super::config::RegistriesConfig;
use super::manifest::{self, Descriptor, Parsed, Platform};
use super::transport::{error_detail, Client, Payload};
use super::{LayerState, Progress, ProgressFn, RegistryError};
use crate::digest::{Digest, DigestError};
use crate::reference::Reference;
use crate::BlobSink;

/// docker's `max-concurrent-downloads` default.
pub const PARALLEL: usize = 3;

#[derive(Clone, Default)]
pub struct PullOptions {
    /// None: this machine's platform (and a single-platform image of another one is accepted, as docker does).
    pub platform: Option<Platform>,
    pub config: RegistriesConfig,
    pub auth: AuthFiles,
    pub progress: Option<ProgressFn>,
    pub cancel: Option<Arc<AtomicBool>>,
}

#[derive(Debug, Clone)]
pub struct PulledLayer {
    pub digest: Digest,
    pub diff_id: Digest,
    pub size: u64,
    pub media_type: String,
    pub existed: bool,
}

#[derive(Debug, Clone)]
pub struct PullResult {
    /// Normalized: `docker.io/library/alpine:latest`.
    pub reference: String,
    /// What the reference points at in the registry (an index for multi-platform images): docker's `Digest:`.
    pub digest: Digest,
    /// The image manifest for the chosen platform (what the store's tag points at).
    pub manifest: Digest,
    pub config: Digest,
    pub layers: Vec<PulledLayer>,
    /// False when everything was already in the store (docker's "Image is up to date").
    pub downloaded: bool,
    /// The endpoint that served it (a mirror's host, or the registry's).
    pub endpoint: String,
}

struct Resolved {
    top: Digest,
    top_bytes: Vec<u8>,
    manifest: Digest,
    manifest_bytes: Vec<u8>,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

pub fn pull(sink: &dyn BlobSink, reference: &str, opts: &PullOptions) -> Result<PullResult, RegistryError> {
    let r = Reference::parse(reference)?;
    let endpoints = opts.config.pull_endpoints(&r.registry);
    let mut last = None;
    for ep in endpoints {
        let creds = opts.auth.lookup(&ep.host)?;
        let mirror = ep.mirror;
        // A mirror whose certs.d cannot be read hands over like any other failing mirror.
        let mut client = match Client::new(ep, creds, &r.to_string(), Some(format!("repository:{}:pull", r.repository))) {
            Ok(c) => c,
            Err(e) if mirror => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        client.cancel = Some(Arc::new(AtomicBool::new(false)));
        match resolve(&client, &r, opts) {
            Ok(res) => return fetch(sink, &client, &r, res, opts),
            Err(e) if mirror && e.falls_back() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| RegistryError::Manifest { reference: r.to_string(), detail: "no endpoint to pull from".into() }))
}

fn corrupt(reference: &str, what: &str, expected: &Digest, actual: impl ToString) -> RegistryError {
    RegistryError::Corrupt { reference: reference.to_owned(), what: what.to_owned(), expected: expected.clone(), actual: actual.to_string() }
}

/// GET a manifest; its bytes must hash to `expected` (asked by digest) or to what the registry announced.
fn fetch_manifest(c: &Client, r: &Reference, what: &str, expected: Option<&Digest>) -> Result<(Vec<u8>, String, Digest), RegistryError> {
    let path = format!("/v2/{}/manifests/{what}", r.repository);
    let mut resp = c.request("GET", &path, &[("Accept", manifest::ACCEPT)], Payload::Empty)?;
    let status = resp.status().as_u16();
    match status {
        200 => {}
        404 => return Err(RegistryError::NotFound { reference: c.reference().to_owned(), detail: error_detail(&mut resp) }),
        403 => return Err(RegistryError::Denied { reference: c.reference().to_owned(), detail: error_detail(&mut resp) }),
        s => return Err(c.refused("GET manifest", s, error_detail(&mut resp))),
    }
    let header = |k: &str| resp.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (ct, announced) = (header("content-type").unwrap_or_default(), header("docker-content-digest"));
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(manifest::MANIFEST_MAX)
        .read_to_vec()
        .map_err(|e| c.refused("GET manifest", status, format!("reading it: {e} (manifests are limited to 4 MiB)")))?;
    let got = Digest::of(&bytes);
    let want = match (expected, announced) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(a)) => Some(Digest::parse(&a).map_err(|e| c.refused("GET manifest", status, format!("Docker-Content-Digest: {e}")))?),
        (None, None) => None,
    };
    if let Some(w) = want {
        if w != got {
            return Err(corrupt(c.reference(), "manifest", &w, &got));
        }
    }
    Ok((bytes, ct, got))
}

fn resolve(c: &Client, r: &Reference, opts: &PullOptions) -> Result<Resolved, RegistryError> {
    let bad = |detail: String| RegistryError::Manifest { reference: r.to_string(), detail };
    let (top_bytes, ct, top) = fetch_manifest(c, r, &r.manifest_ref(), r.digest.as_ref())?;
    match manifest::parse(&top_bytes, &ct).map_err(bad)? {
        Parsed::Image { config, layers, .. } => Ok(Resolved { manifest: top.clone(), manifest_bytes: top_bytes.clone(), top, top_bytes, config, layers }),
        Parsed::Index(entries) => {
            let want = opts.platform.clone().unwrap_or_else(Platform::host);
            let entry = manifest::choose(&entries, &want).map_err(|available| RegistryError::Platform { reference: r.to_string(), platform: want.to_string(), available })?;
            let digest = manifest::digest_of(entry).map_err(bad)?;
            let (bytes, ct, _) = fetch_manifest(c, r, &digest.to_string(), Some(&digest))?;
            match manifest::parse(&bytes, &ct).map_err(bad)? {
                Parsed::Image { config, layers, .. } => Ok(Resolved { top, top_bytes, manifest: digest, manifest_bytes: bytes, config, layers }),
                Parsed::Index(_) => Err(bad(format!("index entry {digest} for {want} is another index"))),
            }
        }
    }
}

/// Counts bytes for progress and stops a download when the pull is cancelled or failed elsewhere.
struct Counting<'a, R> {
    inner: R,
    digest: &'a Digest,
    current: u64,
    total: u64,
    reported: u64,
    progress: Option<&'a ProgressFn>,
    stop: [Option<&'a AtomicBool>; 2],
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.iter().flatten().any(|s| s.load(Ordering::Relaxed)) {
            return Err(std::io::Error::other("pull cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.current += n as u64;
        let step = (self.total / 100).max(64 * 1024);
        if let Some(p) = self.progress {
            if self.current - self.reported >= step || (n == 0 && self.current != self.reported) || self.current == self.total {
                self.reported = self.current;
                p(Progress::Layer { digest: self.digest.clone(), state: LayerState::Downloading, current: self.current, total: self.total });
            }
        }
        Ok(n)
    }
}

fn download(sink: &dyn BlobSink, c: &Client, r: &Reference, d: &Descriptor, digest: &Digest, opts: &PullOptions) -> Result<(), RegistryError> {
    let mut resp = c.request("GET", &format!("/v2/{}/blobs/{digest}", r.repository), &[], Payload::Empty)?;
    match resp.status().as_u16() {
        200 => {}
        404 => return Err(RegistryError::NotFound { reference: c.reference().to_owned(), detail: format!("blob {digest}: {}", error_detail(&mut resp)) }),
        s => return Err(c.refused(&format!("GET blob {digest}"), s, error_detail(&mut resp))),
    }
    let body = resp.into_body().into_reader().take(d.size);
    let internal = c.cancel.as_deref();
    let mut reader = Counting { inner: body, digest, current: 0, total: d.size, reported: 0, progress: opts.progress.as_ref(), stop: [opts.cancel.as_deref(), internal] };
    sink.put_blob(digest, &mut reader).map_err(|e| {
        // Stopped by the caller, or because another layer failed (that failure is the one reported).
        if opts.cancel.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) || c.cancelled() {
            return RegistryError::Cancelled { reference: c.reference().to_owned() };
        }
        // The store wraps the digest check's error in its own enum.
        let mismatch = e.downcast_ref::<DigestError>().or_else(|| match e.downcast_ref::<crate::StoreError>() {
            Some(crate::StoreError::Digest(d)) => Some(d),
            _ => None,
        });
        match mismatch {
            Some(DigestError::Mismatch { actual, .. }) => corrupt(c.reference(), "blob", digest, actual),
            _ => RegistryError::Store { reference: c.reference().to_owned(), op: "put_blob", digest: digest.to_string(), source: e },
        }
    })
}

fn config_diff_ids(sink: &dyn BlobSink, r: &str, digest: &Digest, explicit: Option<&Platform>) -> Result<Vec<Digest>, RegistryError> {
    let store = |source| RegistryError::Store { reference: r.to_owned(), op: "read_blob", digest: digest.to_string(), source };
    let bad = |detail: String| RegistryError::Manifest { reference: r.to_owned(), detail: format!("config {digest}: {detail}") };
    let bytes = sink.read_blob(digest).map_err(store)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if let Some(want) = explicit {
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        let have = Platform { os: s("os"), architecture: s("architecture"), variant: v.get("variant").and_then(|x| x.as_str()).map(str::to_owned) };
        if !want.matches(&have) {
            return Err(RegistryError::PlatformMismatch { reference: r.to_owned(), wanted: want.to_string(), actual: have.to_string() });
        }
    }
    let ids = v.pointer("/rootfs/diff_ids").and_then(|x| x.as_array()).ok_or_else(|| bad("no rootfs.diff_ids".into()))?;
    ids.iter().map(|x| Digest::parse(x.as_str().unwrap_or("")).map_err(|e| bad(e.to_string()))).collect()
}

fn fetch(sink: &dyn BlobSink, c: &Client, r: &Reference, res: Resolved, opts: &PullOptions) -> Result<PullResult, RegistryError> {
    let name = r.to_string();
    let bad = |detail: String| RegistryError::Manifest { reference: name.clone(), detail };
    let layer_digests: Vec<Digest> = res.layers.iter().map(manifest::digest_of).collect::<Result<_, _>>().map_err(&bad)?;
    let config = manifest::digest_of(&res.config).map_err(&bad)?;
    let emit = |p: Progress| {
        if let Some(f) = &opts.progress {
            f(p)
        }
    };
    emit(Progress::Resolved { reference: name.clone(), digest: res.top.clone(), layers: layer_digests.iter().cloned().zip(res.layers.iter().map(|l| l.size)).collect() });
    let mut downloaded = !sink.has_blob(&res.manifest);
    if !sink.has_blob(&config) {
        downloaded = true;
        download_once(sink, c, r, &res.config, &config, opts)?;
    }
    let diff_ids = config_diff_ids(sink, &name, &config, opts.platform.as_ref())?;
    if diff_ids.len() != res.layers.len() {
        return Err(bad(format!("config {config} lists {} diff_ids for {} layers", diff_ids.len(), res.layers.len())));
    }
    for d in &layer_digests {
        emit(Progress::Layer { digest: d.clone(), state: LayerState::Waiting, current: 0, total: 0 });
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<PulledLayer, RegistryError>>>> = Mutex::new((0..res.layers.len()).map(|_| None).collect());
    let stop = c.cancel.as_deref().expect("pull sets the client's stop flag");
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(res.layers.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= res.layers.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                let out = one_layer(sink, c, r, &res.layers[i], &layer_digests[i], &diff_ids[i], opts);
                if out.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(out);
            });
        }
    });
    let mut layers = Vec::with_capacity(res.layers.len());
    let mut first_err = None;
    for out in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        match out {
            Some(Ok(l)) => layers.push(l),
            // A cancel caused by another layer's failure is not the error to report.
            Some(Err(e)) if first_err.is_none() || matches!(first_err, Some(RegistryError::Cancelled { .. })) => first_err = Some(e),
            _ => {}
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    if opts.cancel.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
        return Err(RegistryError::Cancelled { reference: name });
    }
    downloaded |= layers.iter().any(|l| !l.existed);
    let store = |op: &'static str, d: &Digest| {
        let (reference, digest) = (name.clone(), d.to_string());
        move |source| RegistryError::Store { reference, op, digest, source }
    };
    sink.put_blob(&res.manifest, &mut res.manifest_bytes.as_slice()).map_err(store("put_blob", &res.manifest))?;
    if res.top != res.manifest {
        sink.put_blob(&res.top, &mut res.top_bytes.as_slice()).map_err(store("put_blob", &res.top))?;
    }
    sink.tag(&name, &res.manifest).map_err(store("tag", &res.manifest))?;
    // A hint for later pushes to this registry (a cross-repository mount): a failure to note it costs
    // only an upload then, so it does not fail a pull that succeeded.
    let repo = format!("{}/{}", r.registry, r.repository);
    for d in std::iter::once(&config).chain(&layer_digests) {
        let _ = sink.note_source(d, &repo);
    }
    Ok(PullResult { reference: name.clone(), digest: res.top, manifest: res.manifest, config, layers, downloaded, endpoint: c.endpoint.host.clone() })
}

fn one_layer(sink: &dyn BlobSink, c: &Client, r: &Reference, d: &Descriptor, digest: &Digest, diff_id: &Digest, opts: &PullOptions) -> Result<PulledLayer, RegistryError> {
    let emit = |state, current, total| {
        if let Some(f) = &opts.progress {
            f(Progress::Layer { digest: digest.clone(), state, current, total })
        }
    };
    let existed = sink.has_blob(digest);
    if existed {
        emit(LayerState::AlreadyExists, d.size, d.size);
    } else {
        download_once(sink, c, r, d, digest, opts)?;
        emit(LayerState::Extracting, 0, d.size);
    }
    let got = sink
        .unpack_layer(digest, &d.media_type)
        .map_err(|source| RegistryError::Store { reference: c.reference().to_owned(), op: "unpack_layer", digest: digest.to_string(), source })?;
    if &got != diff_id {
        return Err(corrupt(c.reference(), &format!("layer {digest}: uncompressed content (diff id)"), diff_id, &got));
    }
    if !existed {
        emit(LayerState::Complete, d.size, d.size);
    }
    Ok(PulledLayer { digest: digest.clone(), diff_id: got, size: d.size, media_type: d.media_type.clone(), existed })
}

/// Downloads a blob unless a pull running at the same time in this process does: then waits for it.
/// has_blob is asked again once the claim is held, since the other pull may have finished just before.
fn download_once(sink: &dyn BlobSink, c: &Client, r: &Reference, d: &Descriptor, digest: &Digest, opts: &PullOptions) -> Result<(), RegistryError> {
    loop {
        match Flight::claim(digest) {
            Ok(_leader) if sink.has_blob(digest) => return Ok(()),
            Ok(_leader) => return download(sink, c, r, d, digest, opts),
            Err(other) => other.wait(),
        }
    }
}

/// Blob downloads in flight in this process: a second pull of the same layer at the same time waits for
/// the first one instead of fetching it again (the store's locks cover other processes).
static IN_FLIGHT: LazyLock<Mutex<HashMap<Digest, Arc<Flight>>>> = LazyLock::new(Default::default);

struct Flight {
    done: Mutex<bool>,
    cv: Condvar,
}

/// Held by the download that claimed a digest; dropping it (success or not) wakes the waiters.
struct Leader(Digest, Arc<Flight>);

impl Flight {
    fn claim(digest: &Digest) -> Result<Leader, Arc<Flight>> {
        let mut map = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = map.get(digest) {
            return Err(f.clone());
        }
        let f = Arc::new(Flight { done: Mutex::new(false), cv: Condvar::new() });
        map.insert(digest.clone(), f.clone());
        Ok(Leader(digest.clone(), f))
    }

    fn wait(&self) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        while !*done {
            done = self.cv.wait(done).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.0);
        *self.1.done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.1.cv.notify_all();
    }
}
