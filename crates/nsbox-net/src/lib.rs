//! Docker's network model over netlink (see the networking issue).
