//! Writing a setting into the container's cgroup2 directory, where the controller is enabled for it
//! (listed in its cgroup.controllers).

use std::path::Path;

use super::ResourceError;

pub fn has_controller(dir: &Path, controller: &str) -> bool {
    std::fs::read_to_string(dir.join("cgroup.controllers")).map(|c| c.split_whitespace().any(|x| x == controller)).unwrap_or(false)
}

/// The files are the same kind of thing as v1's: a value written whole.
pub fn write(field: &str, dir: &Path, file: &str, value: &str) -> Result<(), ResourceError> {
    super::v1::write(field, dir, file, value)
}
