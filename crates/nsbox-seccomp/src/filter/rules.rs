//! The rules of `linux.seccomp.syscalls[]`, added to a libseccomp context.

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpFilterContext, ScmpSyscall};
use oci_spec::runtime::LinuxSyscall;

use super::convert;
use super::error::FilterError;

/// What adding the rules found out, beyond errors.
#[derive(Debug, Default)]
pub(super) struct Added {
    /// Some rule is `SCMP_ACT_NOTIFY`: the load must ask the kernel for a listener.
    pub notify: bool,
    /// Names libseccomp has never heard of, left out of the filter.
    pub skipped: Vec<String>,
}

pub(super) fn add_all(ctx: &mut ScmpFilterContext, rules: &[LinuxSyscall], default: ScmpAction) -> Result<Added, FilterError> {
    let mut added = Added::default();
    for (i, rule) in rules.iter().enumerate() {
        add(ctx, rule, i, default, &mut added)?;
    }
    Ok(added)
}

fn add(ctx: &mut ScmpFilterContext, rule: &LinuxSyscall, i: usize, default: ScmpAction, added: &mut Added) -> Result<(), FilterError> {
    let path = format!("syscalls[{i}]");
    if rule.names().is_empty() {
        return Err(FilterError::invalid(format!("{path}.names"), "needs at least one syscall name"));
    }
    let action = convert::action(rule.action(), rule.errno_ret(), &format!("{path}.errnoRet"))?;
    let args = rule.args().as_deref().unwrap_or_default();
    let conds = args
        .iter()
        .enumerate()
        .map(|(j, a)| convert::compare(a, &format!("{path}.args[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;
    if action == default {
        // libseccomp refuses a rule that repeats the default action; it would change nothing.
        return Ok(());
    }
    // One argument compared twice: each comparison becomes its own rule (either may hold), as
    // runc does; comparisons of different arguments all have to hold.
    let mut indices: Vec<usize> = args.iter().map(|a| a.index()).collect();
    indices.sort_unstable();
    let repeated = indices.windows(2).any(|w| w[0] == w[1]);
    added.notify |= action == ScmpAction::Notify;

    for name in rule.names() {
        // Native resolution: libseccomp answers a (pseudo) number for a syscall of any
        // architecture it knows, and places it in each sub-filter where it exists; it fails only
        // for names it has never heard of (newer than its tables), which are skipped as runc does.
        let Ok(sc) = ScmpSyscall::from_name(name) else {
            added.skipped.push(name.clone());
            continue;
        };
        let groups: Vec<&[ScmpArgCompare]> =
            if repeated { conds.iter().map(std::slice::from_ref).collect() } else { vec![&conds[..]] };
        for group in groups {
            let r = if group.is_empty() { ctx.add_rule(action, sc) } else { ctx.add_rule_conditional(action, sc, group) };
            r.map_err(|e| FilterError::lib("seccomp_rule_add", format!("{path} {name}"), e))?;
        }
    }
    Ok(())
}
