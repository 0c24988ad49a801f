//! Which of a container's namespaces are the host's too (`NsState::shared`, what `inspect` and the
//! TUI show). "The host's" means the runtime's own namespaces as they were when it started: with
//! `org.nsbox.net-helper-namespaces` the runtime enters the container's user namespace before
//! clone (create/mod.rs), and compared with /proc/self/ns after that, the container's user
//! namespace would read as shared with the host.

use std::sync::OnceLock;

use nsbox_core::namespaces::{read_ids, NsId};

use super::NsState;

static OWN_AT_START: OnceLock<Vec<NsId>> = OnceLock::new();

/// Notes this process's namespaces; called before it enters any of a container's. Later calls
/// keep the first reading.
pub fn remember_own_namespaces() {
    OWN_AT_START.get_or_init(|| read_ids(None).unwrap_or_default());
}

/// Each of the eight namespaces of the container's process `pid`, and whether it is the host's too.
pub fn namespaces_of(pid: i32) -> Vec<NsState> {
    let theirs = read_ids(Some(pid)).unwrap_or_default();
    let ours = OWN_AT_START.get_or_init(|| read_ids(None).unwrap_or_default());
    theirs
        .iter()
        .map(|n| NsState { kind: n.kind.proc_name().to_string(), id: n.id, shared: ours.iter().any(|o| o.kind == n.kind && o.id == n.id) })
        .collect()
}
