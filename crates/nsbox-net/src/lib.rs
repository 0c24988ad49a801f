//! Docker's network model over netlink (see docs/networking.md): Network = a Linux bridge holding the
//! gateway address; Endpoint = a veth pair whose container end is born as `eth0` in the container's
//! network namespace; Sandbox = that namespace with lo up, its address and a default route.
//!
//! Host-side work runs on the calling thread, which never changes namespace; container-side work uses
//! a netlink socket opened by a short-lived thread that entered the container's namespace.

pub mod endpoint;
pub mod error;
pub mod files;
pub mod ipam;
pub mod link;
pub mod netlink;
pub mod network;
pub mod nft;
pub mod nft_elements;
pub mod state;
pub mod sys;
pub mod teardown;

pub use endpoint::{attach, detach, AttachOptions, DetachOptions, Endpoint};
pub use error::NetError;
pub use network::{create, inspect, list, prune, remove, CreateOptions, NetworkDetail, NetworkSummary};
pub use state::Store;
