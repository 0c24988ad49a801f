//! Image store bindings over `nsbox_image::Store`: each call is an AsyncTask on the libuv pool
//! (the store does file I/O and unpacks tars; it never changes namespace). Results cross as JSON
//! text that ts/src/images parses; errors as WireErrors whose code is the store's stable one
//! (ERR_IMAGE_NOT_FOUND, ERR_IMAGE_IN_USE, ERR_DIGEST_MISMATCH, ERR_LAYER_REFUSED, ERR_INVALID_IMAGE,
//! ERR_ROOTLESS_IMAGE, or an errno name).

use std::path::{Path, PathBuf};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use nsbox_core::WireError;
use nsbox_image::store::ArchiveFormat;
use nsbox_image::{Store, StoreError};

use crate::to_napi;

fn wire(op: &str, subject: &str, e: StoreError) -> Error {
    let path = (!subject.is_empty()).then(|| subject.to_owned());
    to_napi(WireError { code: e.code(), op: op.to_owned(), path, errno: e.errno(), message: e.to_string() })
}

type StoreCall = Box<dyn FnOnce(&Store) -> std::result::Result<serde_json::Value, StoreError> + Send>;

pub struct ImageTask {
    store: Option<String>,
    op: &'static str,
    subject: String,
    run: Option<StoreCall>,
}

impl Task for ImageTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        let run = self.run.take().expect("an ImageTask runs once");
        let store = Store::open(self.store.as_deref().map(Path::new)).map_err(|e| wire("open image store", "", e))?;
        let v = run(&store).map_err(|e| wire(self.op, &self.subject, e))?;
        Ok(v.to_string())
    }

    fn resolve(&mut self, _env: Env, out: String) -> Result<String> {
        Ok(out)
    }
}

fn task<T: serde::Serialize>(
    store: Option<String>,
    op: &'static str,
    subject: &str,
    f: impl FnOnce(&Store) -> std::result::Result<T, StoreError> + Send + 'static,
) -> AsyncTask<ImageTask> {
    let run = Box::new(move |s: &Store| f(s).map(|v| serde_json::to_value(v).unwrap_or(serde_json::Value::Null)));
    AsyncTask::new(ImageTask { store, op, subject: subject.to_owned(), run: Some(run) })
}

/// The runtime a rootless store with subordinate ids runs for the work it does in a user namespace
/// (nsbox-image's store/helper.rs): the addon never makes one. Set once, when the addon loads.
#[napi]
pub fn image_set_runtime(path: String) {
    nsbox_image::store::helper::set_runtime(PathBuf::from(path));
}

/// The store's root directory (the argument, NSBOX_STORE, /var/lib/nsbox or $XDG_DATA_HOME/nsbox).
#[napi]
pub fn image_store_root(store: Option<String>) -> String {
    store.map(PathBuf::from).unwrap_or_else(nsbox_image::store::default_root).display().to_string()
}

#[napi(ts_return_type = "Promise<string>")]
pub fn image_list(store: Option<String>) -> AsyncTask<ImageTask> {
    task(store, "images", "", |s| s.list())
}

#[napi(ts_return_type = "Promise<string>")]
pub fn image_inspect(store: Option<String>, reference: String) -> AsyncTask<ImageTask> {
    let r = reference.clone();
    task(store, "image inspect", &reference, move |s| s.inspect(&r))
}

#[napi(ts_return_type = "Promise<string>")]
pub fn image_load(store: Option<String>, archive: String) -> AsyncTask<ImageTask> {
    let a = archive.clone();
    task(store, "load", &archive, move |s| s.load(Path::new(&a)))
}

#[napi(ts_return_type = "Promise<string>")]
pub fn image_save(store: Option<String>, references: Vec<String>, output: String, format: String) -> AsyncTask<ImageTask> {
    let out = output.clone();
    task(store, "save", &output, move |s| {
        let f = match format.as_str() {
            "oci-archive" => ArchiveFormat::Oci,
            "docker-archive" => ArchiveFormat::Docker,
            other => return Err(StoreError::invalid("format", format!("{other:?}: expected oci-archive or docker-archive"))),
        };
        s.save(&references, Path::new(&out), f)
    })
}

#[napi(ts_return_type = "Promise<string>")]
pub fn image_remove(store: Option<String>, reference: String, force: bool) -> AsyncTask<ImageTask> {
    let r = reference.clone();
    task(store, "rmi", &reference, move |s| s.remove_image(&r, force))
}

#[napi(ts_return_type = "Promise<string>")]
pub fn image_prune(store: Option<String>, all: bool) -> AsyncTask<ImageTask> {
    task(store, "image prune", "", move |s| s.prune(all))
}

#[napi(ts_return_type = "Promise<string>")]
pub fn image_tag(store: Option<String>, source: String, target: String) -> AsyncTask<ImageTask> {
    let src = source.clone();
    task(store, "tag", &source, move |s| {
        let m = s.resolve(&src)?;
        let name = nsbox_image::store::normalize(&target)?;
        s.tag(&name, &m).map(|()| name)
    })
}

/// Synchronous, unlike the rest: `spawn()` returns its handle at once, and this is bounded work
/// (three mkdirs, two small JSON blobs read and checked) — no layer is read or unpacked here.
fn sync_call<T: serde::Serialize>(store: Option<String>, op: &str, subject: &str, f: impl FnOnce(&Store) -> std::result::Result<T, StoreError>) -> Result<String> {
    let s = Store::open(store.as_deref().map(Path::new)).map_err(|e| wire("open image store", "", e))?;
    let v = f(&s).map_err(|e| wire(op, subject, e))?;
    Ok(serde_json::to_string(&v).unwrap_or_default())
}

/// A container's writable layer on an image: lowerdirs, upperdir, workdir, the image config.
#[napi]
pub fn image_create_container_layer(store: Option<String>, reference: String, id: String) -> Result<String> {
    sync_call(store, "run", &reference, |s| s.create_container_layer(&reference, &id))
}

#[napi]
pub fn image_remove_container_layer(store: Option<String>, id: String) -> Result<String> {
    if Store::container_layer_absent(store.as_deref().map(Path::new), &id) {
        return Ok("null".into());
    }
    sync_call(store, "remove container layer", &id, |s| s.remove_container_layer(&id))
}

/// docker's anonymous volume: what the image's layers (top first) show at `target`, copied into `dest`.
#[napi]
pub fn image_populate_volume(store: Option<String>, lowerdirs: Vec<String>, target: String, dest: String) -> Result<String> {
    let layers: Vec<PathBuf> = lowerdirs.into_iter().map(PathBuf::from).collect();
    sync_call(store, "populate volume", &target, |s| s.populate_volume(&layers, &target, Path::new(&dest)))
}
