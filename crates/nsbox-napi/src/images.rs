//! Registry bindings: pull, push, login, logout over `nsbox_image::registry`. Each runs as an AsyncTask
//! on the libuv pool (a pull spawns its three downloader threads from there; none touches a namespace);
//! progress reaches JS through a threadsafe function as JSON, cancellation through a [`CancelToken`]
//! the TS layer trips from an AbortSignal. Results cross as JSON text that ts/src/images parses.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use nsbox_core::WireError;
use nsbox_image::registry::{self, AuthFiles, Credentials, Platform, Progress, PullOptions, PushOptions, RegistriesConfig, RegistryError};
use nsbox_image::{Store, StoreError};
use serde_json::{json, Value};

use crate::to_napi;

/// The one place a registry call picks its store: the content store (`nsbox_image::Store`) at the
/// `store` option, else NSBOX_STORE, /var/lib/nsbox as root, $XDG_DATA_HOME/nsbox otherwise — the
/// same root every image command uses.
fn open_store(reference: &str, root: Option<&str>) -> std::result::Result<Store, RegistryError> {
    Store::open(root.map(Path::new)).map_err(|e| RegistryError::Store {
        reference: reference.to_owned(),
        op: "open",
        digest: root.map(PathBuf::from).unwrap_or_else(nsbox_image::store::default_root).display().to_string(),
        source: Box::new(e),
    })
}

/// A store failure keeps the store's own code and errno (ERR_ROOTLESS_IMAGE, ENOSPC, …).
fn reg_err(op: &str, e: RegistryError) -> Error {
    let store = match &e {
        RegistryError::Store { source, .. } => source.downcast_ref::<StoreError>(),
        _ => None,
    };
    let (code, errno) = match store {
        Some(s) => (s.code(), s.errno()),
        None => (e.code().to_owned(), None),
    };
    to_napi(WireError { code, op: op.into(), path: None, errno, message: e.to_string() })
}

/// Trips a running pull or push (the TS layer calls `cancel()` when its AbortSignal fires).
#[napi]
pub struct CancelToken(Arc<AtomicBool>);

#[napi]
impl CancelToken {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(Arc::new(AtomicBool::new(false)))
    }

    #[napi]
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

type ProgressTsfn = ThreadsafeFunction<String, (), String, Status, false>;

fn progress_fn(tsfn: Option<&Arc<ProgressTsfn>>) -> Option<registry::ProgressFn> {
    let tsfn = tsfn?.clone();
    Some(Arc::new(move |p: Progress| {
        let v = match p {
            Progress::Resolved { reference, digest, layers } => json!({
                "kind": "resolved", "reference": reference, "digest": digest.to_string(),
                "layers": layers.iter().map(|(d, s)| json!({ "digest": d.to_string(), "size": s })).collect::<Vec<_>>(),
            }),
            Progress::Layer { digest, state, current, total } => json!({
                "kind": "layer", "digest": digest.to_string(), "state": state.as_str(), "current": current, "total": total,
            }),
            Progress::Mounted { digest, from, size } => json!({
                "kind": "layer", "digest": digest.to_string(), "state": registry::LayerState::Mounted.as_str(),
                "current": size, "total": size, "from": from,
            }),
        };
        tsfn.call(v.to_string(), ThreadsafeFunctionCallMode::NonBlocking);
    }))
}

/// Options common to the calls: `{ store?, registriesConfig?, authFile?, certsDir?, platform? }`.
fn files(v: &Value) -> std::result::Result<(RegistriesConfig, AuthFiles), RegistryError> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(PathBuf::from);
    let mut cfg = RegistriesConfig::load(&s("registriesConfig").unwrap_or_else(RegistriesConfig::default_path))?;
    if let Some(dir) = s("certsDir") {
        cfg.certs_dirs = vec![dir];
    }
    let mut auth = AuthFiles::default();
    if let Some(p) = s("authFile") {
        auth.ours = p;
    }
    Ok((cfg, auth))
}

pub enum ImageOp {
    Pull { reference: String, options: Value, progress: Option<registry::ProgressFn>, cancel: Arc<AtomicBool> },
    Push { reference: String, options: Value, progress: Option<registry::ProgressFn>, cancel: Arc<AtomicBool> },
    Login { server: String, username: String, password: String, options: Value },
    Logout { server: String, options: Value },
}

/// The op, and the progress function that gets a last `{"kind":"end"}` once the op is over: the promise
/// settles through the task's completion and events through the threadsafe function's queue, whose
/// order libuv does not promise, so the TS layer waits for `end` before it settles its own promise.
pub struct ImageTask(Option<ImageOp>, Option<Arc<ProgressTsfn>>);

fn run(op: ImageOp) -> std::result::Result<Value, (&'static str, RegistryError)> {
    match op {
        ImageOp::Pull { reference, options, progress, cancel } => {
            // Bad input is refused before the store is opened (created) at all.
            nsbox_image::Reference::parse(&reference).map_err(|e| ("pull", e.into()))?;
            let (config, auth) = files(&options).map_err(|e| ("pull", e))?;
            let platform = match options.get("platform").and_then(Value::as_str) {
                Some(p) => Some(Platform::parse(p).map_err(|detail| ("pull", RegistryError::Unsupported { what: "platform".into(), detail }))?),
                None => None,
            };
            let store = open_store(&reference, options.get("store").and_then(Value::as_str)).map_err(|e| ("pull", e))?;
            let opts = PullOptions { platform, config, auth, progress, cancel: Some(cancel) };
            let r = registry::pull(&store, &reference, &opts).map_err(|e| ("pull", e))?;
            Ok(json!({
                "reference": r.reference, "digest": r.digest.to_string(), "manifest": r.manifest.to_string(),
                "config": r.config.to_string(), "downloaded": r.downloaded, "endpoint": r.endpoint,
                "layers": r.layers.iter().map(|l| json!({
                    "digest": l.digest.to_string(), "diffId": l.diff_id.to_string(), "size": l.size,
                    "mediaType": l.media_type, "existed": l.existed,
                })).collect::<Vec<_>>(),
            }))
        }
        ImageOp::Push { reference, options, progress, cancel } => {
            nsbox_image::Reference::parse(&reference).map_err(|e| ("push", e.into()))?;
            let (config, auth) = files(&options).map_err(|e| ("push", e))?;
            let store = open_store(&reference, options.get("store").and_then(Value::as_str)).map_err(|e| ("push", e))?;
            let r = registry::push(&store, &reference, &PushOptions { config, auth, progress, cancel: Some(cancel) }).map_err(|e| ("push", e))?;
            Ok(json!({ "reference": r.reference, "digest": r.digest.to_string(), "size": r.size }))
        }
        ImageOp::Login { server, username, password, options } => {
            let (config, auth) = files(&options).map_err(|e| ("login", e))?;
            registry::login(&auth, &config, &server, &Credentials { username, password }).map_err(|e| ("login", e))?;
            Ok(json!({ "server": registry::auth::server_key(&server), "authFile": auth.ours }))
        }
        ImageOp::Logout { server, options } => {
            let (_, auth) = files(&options).map_err(|e| ("logout", e))?;
            let removed = registry::logout(&auth, &server).map_err(|e| ("logout", e))?;
            Ok(json!({ "server": registry::auth::server_key(&server), "removed": removed, "authFile": auth.ours }))
        }
    }
}

impl Task for ImageTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        let op = self.0.take().ok_or_else(|| to_napi(WireError::runtime("image task", None, "ran twice")))?;
        let out = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(op))) {
            Ok(Ok(v)) => Ok(v.to_string()),
            Ok(Err((op, e))) => Err(reg_err(op, e)),
            Err(_) => Err(to_napi(WireError::runtime("image task", None, "panicked"))),
        };
        if let Some(t) = self.1.take() {
            t.call(r#"{"kind":"end"}"#.to_owned(), ThreadsafeFunctionCallMode::NonBlocking);
        }
        out
    }

    fn resolve(&mut self, _env: Env, out: String) -> Result<String> {
        Ok(out)
    }
}

/// `options: { platform?, store?, registriesConfig?, authFile? }`; `onProgress` gets JSON events.
#[napi(
    ts_args_type = "reference: string, options: Record<string, unknown>, onProgress: ((event: string) => void) | null, cancel: CancelToken",
    ts_return_type = "Promise<string>"
)]
pub fn pull_image(reference: String, options: Value, on_progress: Option<ProgressTsfn>, cancel: &CancelToken) -> AsyncTask<ImageTask> {
    let tsfn = on_progress.map(Arc::new);
    let progress = progress_fn(tsfn.as_ref());
    AsyncTask::new(ImageTask(Some(ImageOp::Pull { reference, options, progress, cancel: cancel.0.clone() }), tsfn))
}

#[napi(
    ts_args_type = "reference: string, options: Record<string, unknown>, onProgress: ((event: string) => void) | null, cancel: CancelToken",
    ts_return_type = "Promise<string>"
)]
pub fn push_image(reference: String, options: Value, on_progress: Option<ProgressTsfn>, cancel: &CancelToken) -> AsyncTask<ImageTask> {
    let tsfn = on_progress.map(Arc::new);
    let progress = progress_fn(tsfn.as_ref());
    AsyncTask::new(ImageTask(Some(ImageOp::Push { reference, options, progress, cancel: cancel.0.clone() }), tsfn))
}

#[napi(ts_args_type = "server: string, username: string, password: string, options: Record<string, unknown>", ts_return_type = "Promise<string>")]
pub fn registry_login(server: String, username: String, password: String, options: Value) -> AsyncTask<ImageTask> {
    AsyncTask::new(ImageTask(Some(ImageOp::Login { server, username, password, options }), None))
}

#[napi(ts_args_type = "server: string, options: Record<string, unknown>", ts_return_type = "Promise<string>")]
pub fn registry_logout(server: String, options: Value) -> AsyncTask<ImageTask> {
    AsyncTask::new(ImageTask(Some(ImageOp::Logout { server, options }), None))
}
