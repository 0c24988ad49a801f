//! `save`: images out as an OCI archive or a docker archive (docker-archive layers are plain tars,
//! as `docker save` writes them: compressed blobs are decompressed on the way out). Written to a
//! temporary name beside the output and renamed when complete.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::archive::oci_index;
use super::images::diff_ids;
use super::{normalize, Result, Store, StoreError};
use crate::reference::Reference;
use crate::digest::Digest;
use crate::unpack::Compression;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    Oci,
    Docker,
}

struct Out {
    tar: tar::Builder<BufWriter<File>>,
    path: PathBuf,
}

impl Out {
    fn add(&mut self, name: &str, size: u64, body: &mut dyn io::Read) -> Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        self.tar.append_data(&mut h, name, body).map_err(|e| StoreError::io("write archive", &self.path, &e))
    }

    fn add_bytes(&mut self, name: &str, b: &[u8]) -> Result<()> {
        self.add(name, b.len() as u64, &mut &b[..])
    }

    fn add_file(&mut self, name: &str, p: &Path) -> Result<()> {
        let mut f = File::open(p).map_err(|e| StoreError::io("open", p, &e))?;
        let size = f.metadata().map_err(|e| StoreError::io("stat", p, &e))?.len();
        self.add(name, size, &mut f)
    }
}

impl Store {
    pub fn save(&self, references: &[String], out: &Path, format: ArchiveFormat) -> Result<()> {
        let mut images: Vec<(Vec<String>, Digest)> = Vec::new();
        let idx = self.read_index()?;
        for r in references {
            let m = self.resolve(r)?;
            let n = normalize(r).unwrap_or_default();
            let names = if idx.digest_of(&n).is_some() { vec![n] } else if idx.digest_of(r).is_some() { vec![r.clone()] } else { idx.names_of(&m) };
            images.push((names, m));
        }
        let tmp = out.with_file_name(format!(".{}.nsbox-{}", out.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(), std::process::id()));
        let f = File::create(&tmp).map_err(|e| StoreError::io("create", &tmp, &e))?;
        let mut o = Out { tar: tar::Builder::new(BufWriter::with_capacity(1 << 20, f)), path: tmp.clone() };
        let written = match format {
            ArchiveFormat::Oci => self.write_oci(&mut o, &images),
            ArchiveFormat::Docker => self.write_docker(&mut o, &images),
        }
        .and_then(|()| {
            let w = o.tar.into_inner().map_err(|e| StoreError::io("write archive", &tmp, &e))?;
            let f = w.into_inner().map_err(|e| StoreError::io("write archive", &tmp, e.error()))?;
            f.sync_all().map_err(|e| StoreError::io("fsync", &tmp, &e))?;
            fs::rename(&tmp, out).map_err(|e| StoreError::io("rename", out, &e))
        });
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    fn write_oci(&self, o: &mut Out, images: &[(Vec<String>, Digest)]) -> Result<()> {
        o.add_bytes("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let mut seen = BTreeSet::new();
        let mut entries = Vec::new();
        for (names, m) in images {
            let man = self.manifest(m)?;
            let mut blobs = vec![m.clone(), man.config.digest()?];
            for l in &man.layers {
                blobs.push(l.digest()?);
            }
            for b in blobs {
                if seen.insert(b.clone()) {
                    o.add_file(&format!("blobs/sha256/{}", b.hex()), &self.blob_path(&b))?;
                }
            }
            let size = self.read_blob(m)?.len() as u64;
            for n in names {
                entries.push((n.clone(), m.clone(), size));
            }
        }
        let index = serde_json::to_vec(&oci_index(&entries)).unwrap_or_default();
        o.add_bytes("index.json", &index)
    }

    fn write_docker(&self, o: &mut Out, images: &[(Vec<String>, Digest)]) -> Result<()> {
        let mut manifest = Vec::new();
        let mut repositories = serde_json::Map::new();
        let mut seen = BTreeSet::new();
        for (names, m) in images {
            let man = self.manifest(m)?;
            let config = man.config.digest()?;
            let config_name = format!("{}.json", config.hex());
            if seen.insert(config_name.clone()) {
                o.add_file(&config_name, &self.blob_path(&config))?;
            }
            let ids = diff_ids(&self.config(&man)?, m)?;
            let mut layer_names = Vec::new();
            for (l, id) in man.layers.iter().zip(&ids) {
                let name = format!("{}/layer.tar", id.hex());
                if seen.insert(name.clone()) {
                    self.add_plain_layer(o, &name, &l.digest()?, Compression::from_media_type(&l.media_type)?)?;
                }
                layer_names.push(Value::from(name));
            }
            // docker archives name images by repository and tag; a name by digest has no tag.
            let mut tagged = Vec::new();
            for n in names {
                let Ok(r @ Reference { tag: Some(_), digest: None, .. }) = Reference::parse(n) else { continue };
                let (repo, tag) = (r.name(), r.tag.unwrap_or_default());
                tagged.push(n.clone());
                let top = ids.last().map(|d| d.hex().to_owned()).unwrap_or_default();
                repositories.entry(repo).or_insert_with(|| json!({})).as_object_mut().map(|t| t.insert(tag, top.into()));
            }
            manifest.push(json!({ "Config": config_name, "RepoTags": tagged, "Layers": layer_names }));
        }
        o.add_bytes("manifest.json", &serde_json::to_vec(&manifest).unwrap_or_default())?;
        o.add_bytes("repositories", &serde_json::to_vec(&repositories).unwrap_or_default())
    }

    fn add_plain_layer(&self, o: &mut Out, name: &str, blob: &Digest, c: Compression) -> Result<()> {
        if c == Compression::None {
            return o.add_file(name, &self.blob_path(blob));
        }
        // The tar header needs the size first: decompress into tmp/, then copy.
        let tmp = self.tmp("save", false)?;
        let src = io::BufReader::new(self.open_blob(blob)?);
        let mut dec: Box<dyn io::Read> = match c {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(src)),
            _ => Box::new(zstd::stream::read::Decoder::new(src).map_err(|e| StoreError::io("zstd", self.blob_path(blob), &e))?),
        };
        let mut w = BufWriter::new(&tmp.file);
        io::copy(&mut dec, &mut w).map_err(|e| StoreError::io("decompress layer", self.blob_path(blob), &e))?;
        w.flush().map_err(|e| StoreError::io("write", &tmp.path, &e))?;
        drop(w);
        o.add_file(name, &tmp.path)
    }
}
