//! What the container is asked to be: the OCI config, from a bundle or the control socket,
//! read once into a [`Plan`].

mod devices;
mod linux;
mod load;
mod mounts;
mod plan;
mod process;

pub use devices::{DeviceNode, DevicePlan};
pub use load::{load_spec, validate_id, RunArgs};
pub use mounts::MountEntry;
pub use plan::{Plan, SpecError};
pub use process::{ProcessPlan, Rlimit, SchedPlan};
