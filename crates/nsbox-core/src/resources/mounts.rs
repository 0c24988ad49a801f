//! The RAM-backed mounts' sizes: `--shm-size` (docker's 64 MiB by default), `--tmpfs PATH[:OPTIONS]`
//! and the host view's own `/tmp` and `/run`. A tmpfs without `size=` may grow to half the host's
//! RAM, charged to no memory limit when the container has none: every tmpfs we make on our own
//! has a size. A `--tmpfs` without `size=` is the user's choice and keeps the kernel's default, as
//! with docker.

use super::{invalid, size, ResourceOptions, Size};
use crate::WireError;

/// The host view's `/tmp`: room for scratch files, far from half the RAM (settable: `--tmpfs /tmp:size=…`).
pub const HOST_VIEW_TMP: &str = "size=256m";
/// The host view's `/run`: pid files and sockets (settable: `--tmpfs /run:size=…`).
pub const HOST_VIEW_RUN: &str = "size=64m";

#[derive(Debug, Clone, PartialEq)]
pub struct TmpfsMount {
    pub destination: String,
    pub options: Vec<String>,
}

/// Mount flags `--tmpfs` takes (set and clear forms), as mount(8) spells them.
const FLAGS: [&str; 16] = [
    "ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime", "noatime", "relatime", "norelatime",
    "strictatime", "nodiratime", "diratime", "sync",
];

/// `--shm-size` in bytes (None: docker's 64 MiB default) and the `--tmpfs` mounts, with docker's
/// defaults (`noexec,nosuid,nodev`) overridden by what the option says.
pub fn tmpfs_mounts(o: &ResourceOptions) -> Result<(Option<i64>, Vec<TmpfsMount>), WireError> {
    let shm = match &o.shm_size {
        None => None,
        Some(v) => match size("shmSize", v, false)? {
            0 => None,
            n => Some(n),
        },
    };
    let mut out: Vec<TmpfsMount> = Vec::new();
    for (i, text) in o.tmpfs.iter().enumerate() {
        let f = format!("tmpfs[{i}]");
        let (dest, opts) = text.split_once(':').unwrap_or((text.as_str(), ""));
        if !dest.starts_with('/') || dest.split('/').any(|c| c == "..") {
            return Err(invalid(&f, format!("invalid mount path: {dest:?}: mount path must be absolute")));
        }
        if dest == "/" {
            return Err(invalid(&f, "invalid mount path: \"/\": a tmpfs cannot replace the root"));
        }
        if out.iter().any(|m| m.destination == dest) {
            return Err(invalid(&f, format!("duplicate mount point: {dest}")));
        }
        let mut options: Vec<String> = vec!["noexec".into(), "nosuid".into(), "nodev".into()];
        for opt in opts.split(',').filter(|s| !s.is_empty()) {
            let (key, value) = opt.split_once('=').map_or((opt, None), |(k, v)| (k, Some(v)));
            let checked = match (key, value) {
                ("size", Some(v)) => {
                    let n = size(&f, &Size::Text(v.to_string()), false)?;
                    if n == 0 {
                        return Err(invalid(&f, "size=0 would make the tmpfs unbounded (the kernel's meaning of 0)"));
                    }
                    format!("size={n}")
                }
                ("mode", Some(v)) if !v.is_empty() && v.len() <= 4 && v.chars().all(|c| ('0'..='7').contains(&c)) => opt.to_string(),
                ("uid" | "gid" | "nr_inodes" | "nr_blocks", Some(v)) if v.parse::<u64>().is_ok() => opt.to_string(),
                (flag, None) if FLAGS.contains(&flag) => {
                    // A later flag overrides its opposite (exec after the default noexec).
                    let opposite = flag.strip_prefix("no").map(str::to_string).unwrap_or_else(|| format!("no{flag}"));
                    options.retain(|o| *o != opposite && *o != flag);
                    opt.to_string()
                }
                _ => return Err(invalid(&f, format!("invalid tmpfs option {opt:?} (size=, mode=, uid=, gid=, nr_inodes=, nr_blocks= and mount flags)"))),
            };
            options.retain(|o| !(o.contains('=') && o.split('=').next() == Some(key)));
            options.push(checked);
        }
        out.push(TmpfsMount { destination: dest.to_string(), options });
    }
    Ok((shm, out))
}
