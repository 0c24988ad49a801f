//! Every write nsbox makes to a cgroup lives in this crate's module tree.

pub mod devices;
