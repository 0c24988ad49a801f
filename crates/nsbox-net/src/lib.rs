//! Docker's network model over netlink (see docs/networking.md): Network = a Linux bridge holding the
//! gateway address; Endpoint = a veth pair whose container end is born as `eth0` in the container's
//! network namespace; Sandbox = that namespace with lo up, its address and a default route.
//!
//! Attach runs on nsbox-net's own long-lived worker thread (worker.rs): it steps into the container's
//! namespace only to open a netlink socket there, and a guard always brings it back. Every other
//! thread, Node's included, never changes namespace.

pub mod endpoint;
pub mod error;
pub mod files;
pub mod ipam;
pub mod link;
pub mod netlink;
pub mod network;
pub mod nft;
pub mod nft_elements;
pub mod peers;
pub mod rootless;
pub mod state;
pub mod sys;
pub mod teardown;
pub mod worker;

pub use endpoint::{attach, detach, AttachOptions, DetachOptions, Endpoint};
pub use error::NetError;
pub use network::{create, inspect, list, prune, remove, CreateOptions, NetworkDetail, NetworkSummary};
pub use state::Store;
