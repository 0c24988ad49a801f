//! The hosts content of peers, and the in-place rewrite (on a file under the temp dir).

use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::*;

fn lease(id: &str, ip: u8, container: Option<&str>, hostname: Option<&str>, hosts: Option<PathBuf>) -> Lease {
    Lease { container: container.map(Into::into), hostname: hostname.map(Into::into), hosts_path: hosts, ..Lease::placeholder(id, Ipv4Addr::new(10, 0, 0, ip)) }
}

const LOCAL: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

#[test]
fn own_line_then_every_other_peer_in_lease_order() {
    let all = [lease("a", 2, Some("a"), None, None), lease("b", 3, Some("b"), Some("bee"), None), lease("c", 4, Some("c"), None, None)];
    assert_eq!(hosts_text("blue", &all[1], &all), format!("{LOCAL}10.0.0.3\tbee b\n10.0.0.2\ta\n10.0.0.4\tc\n"));
    // The same text whether or not `all` holds the own lease (attach passes the others only).
    assert_eq!(hosts_text("blue", &all[1], &[all[0].clone(), all[2].clone()]), hosts_text("blue", &all[1], &all));
}

#[test]
fn default_network_lists_no_peers() {
    let all = [lease("a", 2, Some("a"), None, None), lease("b", 3, Some("b"), None, None)];
    assert_eq!(hosts_text(DEFAULT_NETWORK, &all[0], &all), format!("{LOCAL}10.0.0.2\ta\n"));
}

#[test]
fn a_peer_without_a_valid_name_gets_no_line() {
    let all = [lease("a", 2, Some("a"), None, None), lease("b", 3, None, None, None), lease("c", 4, Some("bad name"), None, None)];
    assert_eq!(hosts_text("blue", &all[0], &all), format!("{LOCAL}10.0.0.2\ta\n"));
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("nsbox-peers-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn rewrite_keeps_the_inode_grows_and_shrinks() {
    let d = TempDir::new("rewrite");
    let p = d.0.join("hosts");
    std::fs::write(&p, "old old old old old\n").unwrap();
    let ino = std::fs::metadata(&p).unwrap().ino();
    rewrite(&p, "short\n").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "short\n");
    let long = "a much longer text than before\n".repeat(10);
    rewrite(&p, &long).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), long);
    assert_eq!(std::fs::metadata(&p).unwrap().ino(), ino, "same inode: a bind mount keeps seeing it");
}

#[test]
fn rewrite_refuses_missing_symlink_and_fifo() {
    let d = TempDir::new("refuse");
    let missing = d.0.join("gone");
    assert_eq!(rewrite(&missing, "x\n").unwrap_err().errno(), Errno::ENOENT);
    assert!(!missing.exists(), "never created");
    let target = d.0.join("target");
    std::fs::write(&target, "keep\n").unwrap();
    let link = d.0.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(rewrite(&link, "x\n").unwrap_err().errno(), Errno::ELOOP);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep\n");
    let fifo = d.0.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // No reader: O_NONBLOCK makes the open fail at once instead of waiting for one.
    assert_eq!(rewrite(&fifo, "x\n").unwrap_err().errno(), Errno::ENXIO);
}

#[test]
fn refresh_rewrites_recorded_files_except_the_newcomer_and_collects_failures() {
    let d = TempDir::new("refresh");
    let (pa, pb) = (d.0.join("a"), d.0.join("b"));
    std::fs::write(&pa, "stale\n").unwrap();
    std::fs::write(&pb, "untouched\n").unwrap();
    let all = [
        lease("a", 2, Some("a"), None, Some(pa.clone())),
        lease("b", 3, Some("b"), None, Some(pb.clone())),
        lease("u", 4, Some("u"), None, None),
        lease("g", 5, Some("g"), None, Some(d.0.join("gone"))),
    ];
    let errs = refresh("blue", &all, Some("b"));
    // Exactly what attach writes for the same peers.
    assert_eq!(std::fs::read_to_string(&pa).unwrap(), hosts_text("blue", &all[0], &all));
    assert_eq!(std::fs::read_to_string(&pa).unwrap(), format!("{LOCAL}10.0.0.2\ta\n10.0.0.3\tb\n10.0.0.4\tu\n10.0.0.5\tg\n"));
    assert_eq!(std::fs::read_to_string(&pb).unwrap(), "untouched\n", "the newcomer's own file is attach's");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].errno(), Errno::ENOENT);
    assert!(errs[0].to_string().contains("gone"), "{}", errs[0]);
    // Nothing on the default network.
    assert!(refresh(DEFAULT_NETWORK, &all, None).is_empty());
}
