//! `unpack-layer` and `store-remove` (ours, run by the image store in the Node addon, never by an
//! engine): a rootless store with subordinate ids (nsbox-image's store/idmap.rs) unpacks layers and
//! removes its files as root of a user namespace made with the store's own maps, which the addon
//! may not make itself. One JSON line answers on stdout (nsbox-image's store/helper.rs).

use std::path::{Path, PathBuf};

use nsbox_container::create::userns;
use nsbox_image::store::{helper, idmap, Store, StoreError};
use nsbox_image::Digest;
use serde_json::json;

pub const USAGE: &str = "unpack-layer --store DIR --blob DIGEST --compression none|gzip|zstd | store-remove --store DIR PATH | populate-volume --store DIR --target PATH --dest DIR LAYER...";

pub fn run(cmd: &str, args: &[String]) -> i32 {
    let (line, code) = helper::answer(parse_and_run(cmd, args));
    println!("{line}");
    code
}

fn bad(msg: String) -> StoreError {
    StoreError::invalid(format!("nsbox-runtime {}", USAGE), msg)
}

fn parse_and_run(cmd: &str, args: &[String]) -> Result<serde_json::Value, StoreError> {
    let mut store = None;
    let mut blob = None;
    let mut compression = None;
    let mut target = None;
    let mut dest = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or_else(|| bad(format!("{a} needs a value")));
        match a.as_str() {
            "--store" => store = Some(PathBuf::from(val()?)),
            "--blob" => blob = Some(val()?),
            "--compression" => compression = Some(val()?),
            "--target" => target = Some(val()?),
            "--dest" => dest = Some(PathBuf::from(val()?)),
            _ => rest.push(a.clone()),
        }
    }
    let root = store.ok_or_else(|| bad("--store is required".into()))?;
    if !root.is_absolute() {
        return Err(bad(format!("--store {}: not an absolute path", root.display())));
    }
    // The maps the store was made with (never the host's of now: see idmap.rs).
    let maps = match std::fs::read_to_string(root.join("idmap.json")) {
        Ok(text) => serde_json::from_str::<idmap::IdMaps>(&text).map_err(|e| bad(format!("{}/idmap.json: {e}", root.display())))?,
        Err(e) => return Err(StoreError::io("read", root.join("idmap.json"), &e)),
    };
    match cmd {
        "unpack-layer" => {
            let blob = Digest::parse(&blob.ok_or_else(|| bad("--blob is required".into()))?)?;
            let c = compression.as_deref().and_then(helper::parse_compression).ok_or_else(|| bad("--compression must be none, gzip or zstd".into()))?;
            in_userns(&maps, move || {
                let store = Store::open_in_userns(&root)?;
                let d = store.unpack_into_layers(&blob, c)?;
                Ok(json!({ "diffId": d.to_string() }))
            })
        }
        "store-remove" => {
            let [path] = rest.as_slice() else { return Err(bad("one PATH is required".into())) };
            let p = Path::new(path).to_path_buf();
            if !helper::removable(&root, &p) {
                return Err(bad(format!("{path}: not a layer, container layer or tmp entry of the store {}", root.display())));
            }
            in_userns(&maps, move || match std::fs::remove_dir_all(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io("remove", &p, &e)),
                _ => Ok(json!({ "removed": p })),
            })
        }
        "populate-volume" => {
            let (target, dest) = (target.ok_or_else(|| bad("--target is required".into()))?, dest.ok_or_else(|| bad("--dest is required".into()))?);
            let layers: Vec<PathBuf> = rest.iter().map(PathBuf::from).collect();
            if layers.is_empty() || !helper::volume_paths_ok(&root, &layers, &dest) {
                return Err(bad(format!("the layers must be the store's, and {} in a container's layer of {}", dest.display(), root.display())));
            }
            in_userns(&maps, move || {
                Store::open_in_userns(&root)?.populate_volume(&layers, &target, &dest)?;
                Ok(json!({ "volume": dest }))
            })
        }
        _ => Err(bad(format!("unknown command {cmd:?}"))),
    }
}

/// The work runs in the namespace's child, which prints the answer; ours is only a failure to get there.
fn in_userns(maps: &idmap::IdMaps, work: impl FnOnce() -> Result<serde_json::Value, StoreError>) -> Result<serde_json::Value, StoreError> {
    let code = userns::run_as_root(&maps.uid_map, &maps.gid_map, || {
        let (line, code) = helper::answer(work());
        println!("{line}");
        code
    })
    .map_err(|e| StoreError::Helper { code: "ERR_ROOTLESS_IMAGE".into(), errno: None, msg: e.to_string() })?;
    // The child answered already; exit with its code and print nothing more.
    std::process::exit(code)
}
