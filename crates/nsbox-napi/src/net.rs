//! Network bindings (networking issue): owned by the networking work.
