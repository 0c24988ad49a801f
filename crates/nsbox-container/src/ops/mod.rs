//! The runtime's commands: on existing containers (`state`, `list`, `kill`, `delete` in oci.rs;
//! `pause`, `resume` in pause.rs; `exec` in exec.rs; `update` in update.rs) and the foreground `run` (run.rs).

mod create;
mod exec;
mod features;
mod info;
mod oci;
mod pause;
mod run;
mod update;

pub use create::{check_console, create, is_oci, refuse_caller_terminal, saved_plan, start, CreateArgs, PidFile, OciError};
pub use features::{default_spec, features, write_spec};
pub use info::{events, ps, InfoError};
pub use exec::{exec, exec_plain, ExecArgs, ExecError};
pub use oci::{delete, kill, list, state, OpsError};
pub use pause::{pause, resume, FreezeError};
pub(crate) use run::report;
pub use run::{report_wire, run};
pub use update::{update, UpdateError};
