//! nftables. Everything of ours is in one table, `ip nsbox`:
//! - `ports_any` / `ports_ip`: maps (proto . port) and (addr . proto . port) → (container ip . port);
//!   published ports are map elements, so attach/detach add or delete elements and never touch rules;
//! - base chains `prerouting`/`output` (DNAT for traffic to a local address, from outside or from the
//!   host itself), `postrouting` (masquerade: egress, hairpin, localhost) and `forward` (isolation).
//!
//! Two paths. The hot one, attach/detach adding or deleting a lease's map elements, talks nf_tables
//! netlink directly (`nft_elements`, on a kept socket): spawning `nft` cost 5–20 ms per attach or
//! detach, against tens of microseconds for the same batch; those few messages are small and fixed,
//! so building them by hand is cheap, and the batch is still one kernel transaction.
//! The rare whole-table rebuild (network create/remove) stays on `nft -f -`, one batch per operation
//! (one kernel transaction: all of it applies or none does): it carries chains, rules with `fib`,
//! `dnat ... map` and masquerade expressions, which are nft's to compile; keeping that text readable
//! is worth the spawn there. Text rather than `-j` JSON: nft 1.0.6 (Debian 12) cannot read a map whose
//! data is a concatenation (`ipv4_addr . inet_service`) from JSON, and that map is what keeps
//! published ports out of the rules. Every value we print is generated or validated first.
//! Network create/remove rebuilds the table from the state (add+delete+add in one batch); removing the
//! last network deletes the table, so no base chain or jump is ever left behind.

use std::io::Write;
use std::process::{Command, Stdio};

use nix::errno::Errno;
use crate::nft_elements::{self, ElementError};
use crate::state::{Lease, Network};

pub const TABLE: &str = "nsbox";

#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("{op}({path}): {errno:?}: cannot run nft (install the nftables package)")]
    Spawn { op: &'static str, path: String, errno: Errno },
    #[error("{op}(table ip nsbox): {}: {message}", errno.map(|e| format!("{e:?}")).unwrap_or_else(|| "ERR_NFT".into()))]
    Failed { op: &'static str, errno: Option<Errno>, message: String },
    #[error(transparent)]
    Elements(#[from] ElementError),
}

fn nft_binary() -> String {
    if let Some(p) = std::env::var_os("NSBOX_NFT") {
        return p.to_string_lossy().into_owned();
    }
    for p in ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/usr/local/sbin/nft"] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    "nft".into()
}

/// Runs one batch. The kernel's errno comes back only as strerror text: map it back to the number.
pub fn run_batch(op: &'static str, input: String) -> Result<(), NftError> {
    let bin = nft_binary();
    let mut child = Command::new(&bin)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NftError::Spawn { op, path: bin.clone(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(0)) })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A write error shows up as nft's own failure below.
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NftError::Spawn { op, path: bin.clone(), errno: Errno::from_raw(e.raw_os_error().unwrap_or(0)) })?;
    if out.status.success() {
        return Ok(());
    }
    let mut message = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if message.is_empty() {
        message = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    if message.is_empty() {
        message = format!("nft exited with {}", out.status);
    }
    if std::env::var_os("NSBOX_NFT_DEBUG").is_some() {
        message.push_str(&format!("\ninput: {input}"));
    }
    Err(NftError::Failed { op, errno: errno_from_text(&message), message })
}

fn errno_from_text(text: &str) -> Option<Errno> {
    (1..134).map(Errno::from_raw).find(|e| *e != Errno::UnknownErrno && text.contains(e.desc()))
}

fn q(name: &str) -> String {
    // Names are generated or validated ([A-Za-z0-9_.-]); quoting keeps nft from reading them as keywords.
    format!("\"{name}\"")
}

/// The whole table for these networks and their leases; or just its deletion when there are none.
pub fn sync_table(networks: &[Network], leases: &[Lease]) -> Result<(), NftError> {
    let mut b = format!("add table ip {TABLE}\ndelete table ip {TABLE}\n");
    if networks.is_empty() {
        return run_batch("delete table", b);
    }
    b += &format!("table ip {TABLE} {{\n");
    b += "  map ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }\n";
    b += "  map ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n";
    b += "  chain prerouting { type nat hook prerouting priority dstnat; policy accept; fib daddr type local jump ports; }\n";
    b += "  chain output { type nat hook output priority -100; policy accept; fib daddr type local jump ports; }\n";
    b += "  chain ports {\n    dnat to ip daddr . meta l4proto . th dport map @ports_ip\n";
    b += "    dnat to meta l4proto . th dport map @ports_any\n  }\n";
    let mut post = String::new();
    // Published ports are reachable from every network, by design (as in docker).
    let mut fwd = String::from("    ct status dnat accept\n");
    for n in networks {
        let br = q(&n.bridge);
        fwd += &format!("    iifname {br} oifname {br} accept\n");
        if n.internal {
            fwd += &format!("    iifname {br} drop\n    oifname {br} drop\n");
            continue;
        }
        // Egress through the host's address; hairpin to a published port of the same network; the
        // host itself via 127.0.0.1 (route_localnet is on for the bridge).
        post += &format!("    ip saddr {} oifname != {br} masquerade\n", n.subnet);
        post += &format!("    oifname {br} ip saddr {} ct status dnat masquerade\n", n.subnet);
        post += &format!("    oifname {br} ip saddr 127.0.0.0/8 masquerade\n");
    }
    let set = networks.iter().map(|n| q(&n.bridge)).collect::<Vec<_>>().join(", ");
    fwd += &format!("    iifname {{ {set} }} oifname {{ {set} }} drop\n");
    b += &format!("  chain postrouting {{ type nat hook postrouting priority srcnat; policy accept;\n{post}  }}\n");
    b += &format!("  chain forward {{ type filter hook forward priority filter; policy accept;\n{fwd}  }}\n}}\n");
    for l in leases {
        b += &port_elements(l);
    }
    run_batch("sync table", b)
}

/// `add element` lines for one lease's published ports (the initial elements of a rebuilt table).
fn port_elements(lease: &Lease) -> String {
    let mut out = String::new();
    for p in &lease.ports {
        let (map, key) = match p.host_ip {
            Some(ip) => (nft_elements::MAP_IP, format!("{ip} . {} . {}", p.protocol.as_str(), p.host_port)),
            None => (nft_elements::MAP_ANY, format!("{} . {}", p.protocol.as_str(), p.host_port)),
        };
        out += &format!("add element ip {TABLE} {map} {{ {key} : {} . {} }}\n", lease.ip, p.container_port);
    }
    out
}

/// Adds (or with `add == false` deletes) one lease's published ports, in one transaction, over
/// netlink in the calling thread's network namespace.
pub fn update_ports(lease: &Lease, add: bool) -> Result<(), NftError> {
    Ok(nft_elements::update(lease, add)?)
}
