//! Namespaces joined by `path` (`linux.namespaces[].path`): opened and checked in the parent before
//! clone (a path that is not a namespace of its type is refused), then entered with setns. A pid
//! namespace is entered by the parent around the clone (setns only moves the children), every other
//! one by the child, the user namespace first (the others may belong to it), the mount namespace
//! last (after it, the paths the runtime still needs may mean something else).

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::{setns, CloneFlags};
use nix::sys::stat::Mode;
use nsbox_core::namespaces::NsKind;

use super::child::{sys, ChildError};
use crate::error::Result;
use crate::spec::{Plan, SpecError};

/// The order namespaces are joined in (pid is the parent's, see [`PidJoin`]).
const ORDER: [NsKind; 7] = [NsKind::User, NsKind::Cgroup, NsKind::Ipc, NsKind::Uts, NsKind::Net, NsKind::Time, NsKind::Mnt];

pub struct Joins {
    fds: Vec<(NsKind, OwnedFd, String)>,
}

impl Joins {
    pub fn open(plan: &Plan) -> Result<Joins> {
        let mut fds = Vec::new();
        for (kind, path) in &plan.join {
            let shown = path.display().to_string();
            let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open namespace", &shown))?;
            let got = nsbox_core::namespaces::nsfs::ns_type(fd.as_fd());
            let want = kind.clone_flag().bits();
            if got != want {
                let what = match crate::create::join::kind_of_flag(got) {
                    Some(k) if got >= 0 => format!("a {} namespace", k.proc_name()),
                    _ => "not a namespace".to_string(),
                };
                return Err(SpecError::new("linux.namespaces", format!("{shown} is {what}, not a {} namespace", kind.proc_name())).into());
            }
            fds.push((*kind, fd, shown));
        }
        Ok(Joins { fds })
    }

    fn get(&self, kind: NsKind) -> Option<&(NsKind, OwnedFd, String)> {
        self.fds.iter().find(|(k, _, _)| *k == kind)
    }

    /// In the child: every joined namespace but pid, in [`ORDER`]; with `user`, the user
    /// namespace only, else all but it.
    pub fn enter(&self, user: bool) -> std::result::Result<(), ChildError> {
        for kind in ORDER {
            if (kind == NsKind::User) != user {
                continue;
            }
            if let Some((_, fd, path)) = self.get(kind) {
                setns(fd, kind.clone_flag()).map_err(sys("setns", path))?;
            }
        }
        Ok(())
    }

    /// In the parent, right before clone, with [`Plan::early_user`]: the received user namespace,
    /// for good (a user namespace cannot be left). The runtime is single-threaded, as setns needs.
    pub fn enter_user(&self) -> std::result::Result<(), ChildError> {
        match self.get(NsKind::User) {
            Some((_, fd, path)) => setns(fd, CloneFlags::CLONE_NEWUSER).map_err(sys("setns", path)),
            None => Ok(()),
        }
    }

    /// In the parent, right before clone: the pid namespace the child is to be born in. Undone
    /// when the returned guard is dropped.
    pub fn enter_pid(&self) -> std::result::Result<Option<PidJoin>, ChildError> {
        let Some((_, fd, path)) = self.get(NsKind::Pid) else { return Ok(None) };
        let own = open("/proc/self/ns/pid", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(sys("open", "/proc/self/ns/pid"))?;
        setns(fd, CloneFlags::CLONE_NEWPID).map_err(sys("setns", path))?;
        Ok(Some(PidJoin { own }))
    }
}

fn kind_of_flag(flag: i32) -> Option<NsKind> {
    nsbox_core::namespaces::ALL.into_iter().find(|k| k.clone_flag().bits() == flag)
}

/// The runtime's own pid namespace for its next children, restored on drop.
pub struct PidJoin {
    own: OwnedFd,
}

impl Drop for PidJoin {
    fn drop(&mut self) {
        // Our own active namespace is always one we may go back to.
        if let Err(e) = setns(&self.own, CloneFlags::CLONE_NEWPID) {
            eprintln!("nsbox-runtime: setns back to our own pid namespace: {}", Errno::desc(e));
        }
    }
}
