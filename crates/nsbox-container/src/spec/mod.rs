//! What the container is asked to be: the OCI config, from a bundle or the control socket,
//! read once into a [`Plan`] (process.rs: the process part, also exec's `--process` file).

mod devices;
mod linux;
mod load;
mod mounts;
mod overlay;
mod plan;
mod process;
pub mod unmodelled;

pub use devices::{DeviceNode, DevicePlan};
pub use load::{load_spec, validate_id, RunArgs};
pub use mounts::MountEntry;
pub use overlay::{OverlayRoot, ANNOTATION_OVERLAY};
pub use plan::{Plan, SpecError};
pub use process::{process_plan, ProcessPlan, Rlimit, SchedPlan};
