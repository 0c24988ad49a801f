//! Our per-container monitor (conmon's role) for detached containers, on top of nsbox-container:
//! detach.rs forks it and boots the container under it, monitor.rs is its loop (output to the log
//! and to attach clients, reaping, the exit record), created.rs starts a container held at
//! `created`, attach.rs is the client side of `attach.sock`, diewith.rs watches `--die-with`'s
//! process, and netrelease.rs gives the container's network endpoints back (through nsbox-net)
//! when it ends.

pub mod attach;
pub mod created;
pub mod detach;
mod diewith;
pub mod error;
mod frames;
pub mod logs;
mod monitor;
mod netrelease;
mod stdin;

pub use error::{MonitorError, Result};
