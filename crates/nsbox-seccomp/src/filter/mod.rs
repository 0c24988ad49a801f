//! OCI `linux.seccomp` → a libseccomp filter, and loading it.
//!
//! [`compile`] does every check, builds the filter with libseccomp and has libseccomp generate
//! its BPF program, so a runtime can call it in its parent before clone and report a bad config
//! as a spec error. [`Compiled::load`], in the container's init, is then one seccomp(2) call.
//!
//! Choices, each as runc makes it unless said otherwise:
//! - A syscall name libseccomp does not know (newer than its tables) is skipped and listed in
//!   [`Compiled::skipped`]; a name that exists only on another architecture is left to libseccomp,
//!   which places it in the sub-filters where it exists (`chown32` in the i386 one).
//! - A rule whose action equals the default action is dropped (libseccomp refuses it; it would
//!   change nothing), after its fields have been checked.
//! - Comparisons on different arguments of one rule must all hold; if one argument is compared
//!   twice, each comparison becomes a rule of its own (either may hold).
//! - A syscall from an ABI the filter does not list kills the process (SIGSYS): nsbox's choice,
//!   since such a call was never judged by the profile; libseccomp's own default kills only the
//!   thread.
//! - no_new_privs is not set here: the runtime sets it when the spec says so, before loading.
//!   Without it, loading needs CAP_SYS_ADMIN (the kernel's rule).
//! - `SCMP_ACT_NOTIFY` cannot be the default action: the runtime still needs its own syscalls
//!   after the load, to hand the listener to the agent.

mod convert;
mod error;
mod program;
mod rules;

use std::os::fd::OwnedFd;

use libseccomp::{ScmpAction, ScmpFilterContext};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};

pub use error::FilterError;

pub type Result<T> = std::result::Result<T, FilterError>;

/// A filter built, checked and turned into its BPF program, ready to load.
pub struct Compiled {
    program: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
    notify: bool,
    skipped: Vec<String>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("instructions", &self.program.len())
            .field("flags", &self.flags)
            .field("notify", &self.notify)
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Builds the filter `seccomp` describes, refusing anything it cannot do exactly.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Compiled> {
    let (ctx, flags, added) = build(seccomp)?;
    let program = program::export(&ctx)?;
    // Decided from the config, not from what libseccomp added, so that a program read back from
    // a cache ([`Compiled::from_program`]) loads with the same flags.
    let notify = wants_notify(seccomp);
    debug_assert!(notify || !added.notify);
    Ok(Compiled { program, flags: load_flags(flags, notify), notify, skipped: added.skipped })
}

/// Some rule asks for `SCMP_ACT_NOTIFY` (even if libseccomp did not know all its names).
fn wants_notify(seccomp: &LinuxSeccomp) -> bool {
    seccomp.syscalls().iter().flatten().any(|r| r.action() == LinuxSeccompAction::ScmpActNotify)
}

/// The seccomp(2) flags for a filter built with the config's `flags` (`config_flags`).
fn load_flags(config_flags: libc::c_ulong, notify: bool) -> libc::c_ulong {
    let mut flags = config_flags;
    if notify {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            // TSYNC reports a failing thread by its id in the return value, which is also where the
            // listener comes back; TSYNC_ESRCH makes the kernel say ESRCH instead (as libseccomp does).
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    }
    flags
}

/// The config's `flags` as seccomp(2) flags, without asking libseccomp (for a cached program,
/// whose flags were checked by libseccomp when it was compiled).
fn config_flags(seccomp: &LinuxSeccomp) -> libc::c_ulong {
    seccomp.flags().iter().flatten().fold(0, |acc, f| acc | flag_bit(*f))
}

fn flag_bit(f: LinuxSeccompFilterFlag) -> libc::c_ulong {
    match f {
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    }
}

/// The libseccomp context for `seccomp`, the seccomp(2) flags it asks for, and what the rules
/// added.
fn build(seccomp: &LinuxSeccomp) -> Result<(ScmpFilterContext, libc::c_ulong, rules::Added)> {
    let default = seccomp.default_action();
    if default == LinuxSeccompAction::ScmpActNotify {
        return Err(FilterError::invalid(
            "defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action (the runtime's own calls after the load would wait for an agent that has no listener yet)",
        ));
    }
    let default_act = convert::action(default, seccomp.default_errno_ret(), "defaultErrnoRet")?;
    let mut ctx = ScmpFilterContext::new(default_act).map_err(|e| FilterError::lib("seccomp_init", "defaultAction", e))?;
    ctx.set_ctl_nnp(false).map_err(|e| FilterError::lib("seccomp_attr_set", "CTL_NNP", e))?;
    ctx.set_act_badarch(ScmpAction::KillProcess).map_err(|e| FilterError::lib("seccomp_attr_set", "ACT_BADARCH", e))?;

    for (i, a) in seccomp.architectures().iter().flatten().enumerate() {
        ctx.add_arch(convert::arch(*a))
            .map_err(|e| FilterError::lib("seccomp_arch_add", format!("architectures[{i}]"), e))?;
    }
    let mut flags = 0;
    for (i, f) in seccomp.flags().iter().flatten().enumerate() {
        // Setting the attribute makes libseccomp check that it and the kernel support the flag.
        convert::flag(&mut ctx, *f, &format!("flags[{i}]"))?;
        flags |= flag_bit(*f);
    }
    let added = rules::add_all(&mut ctx, seccomp.syscalls().as_deref().unwrap_or_default(), default_act)?;
    Ok((ctx, flags, added))
}

impl Compiled {
    /// The filter for `seccomp` from the BPF program libseccomp generated for it earlier
    /// ([`Compiled::program_bytes`], e.g. kept in a cache): the program is checked for shape
    /// (whole instructions, within the kernel's limit); the kernel verifies it at load. The caller
    /// must make sure `bytes` was compiled from this very `seccomp` by this libseccomp.
    pub fn from_program(seccomp: &LinuxSeccomp, bytes: &[u8]) -> Result<Compiled> {
        let program = program::from_bytes(bytes)?;
        let notify = wants_notify(seccomp);
        Ok(Compiled { program, flags: load_flags(config_flags(seccomp), notify), notify, skipped: vec![] })
    }

    /// The BPF program as libseccomp exported it (native-endian `struct sock_filter`s).
    pub fn program_bytes(&self) -> Vec<u8> {
        program::to_bytes(&self.program)
    }

    /// Whether some rule uses `SCMP_ACT_NOTIFY`, i.e. [`Compiled::load`] will return a listener.
    pub fn uses_notify(&self) -> bool {
        self.notify
    }

    /// Syscall names this libseccomp does not know, which the filter leaves out.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Length of the BPF program, in instructions.
    pub fn instructions(&self) -> usize {
        self.program.len()
    }

    /// Installs the filter on the calling thread (on all threads with SECCOMP_FILTER_FLAG_TSYNC).
    /// From here on it applies to this process and whatever it execs; it cannot be removed.
    /// Returns the notify listener (close-on-exec) when a rule uses `SCMP_ACT_NOTIFY`. One
    /// syscall, no allocation: safe in a child forked from a threaded process.
    pub fn load(&self) -> Result<Option<OwnedFd>> {
        program::install(&self.program, self.flags)
    }
}

/// The filter as libseccomp's readable pseudo-code (PFC), for a person to read.
pub fn export_pfc(seccomp: &LinuxSeccomp) -> Result<String> {
    let (ctx, _, _) = build(seccomp)?;
    let fd = nix::sys::memfd::memfd_create("nsbox-seccomp-pfc", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(|errno| FilterError::Sys { op: "memfd_create", errno })?;
    ctx.export_pfc(&fd).map_err(|e| FilterError::lib("seccomp_export_pfc", "filter", e))?;
    let mut text = String::new();
    let mut file = std::fs::File::from(fd);
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text))
        .map_err(|e| FilterError::Sys { op: "read exported filter", errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) })?;
    Ok(text)
}

/// The libseccomp this process runs with (`2.5.4`): a cache of compiled programs keys on it,
/// since another libseccomp may generate another program for the same config.
pub fn libseccomp_version() -> String {
    match libseccomp::ScmpVersion::current() {
        Ok(v) => format!("{}.{}.{}", v.major, v.minor, v.micro),
        Err(_) => "unknown".into(),
    }
}
