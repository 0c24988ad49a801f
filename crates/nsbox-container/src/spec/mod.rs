//! What the container is asked to be: the OCI config, from a bundle or the control socket,
//! read once into a [`Plan`].

mod devices;
mod load;
mod plan;

pub use devices::{DeviceNode, DevicePlan};
pub use load::{load_spec, validate_id, RunArgs};
pub use plan::{MountEntry, Plan, ProcessPlan, SpecError};
