//! The runtime's commands: on existing containers (`state`, `list`, `kill`, `delete` in oci.rs;
//! `pause`, `resume` in pause.rs; `exec` in exec.rs; `update` in update.rs) and the foreground `run` (run.rs).

mod exec;
mod oci;
mod pause;
mod run;
mod update;

pub use exec::{exec, ExecArgs, ExecError};
pub use oci::{delete, kill, list, state, OpsError};
pub use pause::{pause, resume, FreezeError};
pub(crate) use run::report;
pub use run::{report_wire, run};
pub use update::{update, UpdateError};
