//! The cgroup v2 device program generated from a rule list. It computes [`permits`] for the
//! kernel's `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`, where
//! `access_type = access << 16 | type` (type BLOCK=1, CHAR=2; access MKNOD=1, READ=2, WRITE=4), and
//! returns 1 to allow, 0 to deny (the caller sees EPERM).
//!
//! Shape: decode the context into registers, then for each access bit the request contains, walk
//! the rules naming that bit from last to first; the first whose node matches decides that bit (a
//! deny exits with 0, an allow goes on to the next bit); no match falls to the list's default.
//!
//! [`permits`]: nsbox_core::devices::permits

use super::error::{DeviceCgroupError, Result};
use super::insn::{Asm, Insn, Reg};
use nsbox_core::devices::{effective, Access, DevNum, DeviceKind, DeviceRule};

const BPF_DEVCG_DEV_BLOCK: u32 = 1;
const BPF_DEVCG_DEV_CHAR: u32 = 2;

// Register roles after the prologue.
const TYPE: Reg = Reg::R2;
const ACCESS: Reg = Reg::R3;
const MAJOR: Reg = Reg::R4;
const MINOR: Reg = Reg::R5;
const SCRATCH: Reg = Reg::R6;

pub fn compile(rules: &[DeviceRule]) -> Result<Vec<Insn>> {
    let (default_allow, rest) = effective(rules);
    let mut a = Asm::default();
    a.push(Insn::ldx_w(TYPE, Reg::R1, 0));
    a.push(Insn::and32_imm(TYPE, 0xffff));
    a.push(Insn::ldx_w(ACCESS, Reg::R1, 0));
    a.push(Insn::rsh32_imm(ACCESS, 16));
    a.push(Insn::ldx_w(MAJOR, Reg::R1, 4));
    a.push(Insn::ldx_w(MINOR, Reg::R1, 8));
    for (bit, _) in Access::LETTERS {
        let next_bit = a.label();
        a.push(Insn::mov32_reg(SCRATCH, ACCESS));
        a.push(Insn::and32_imm(SCRATCH, u32::from(bit.bits())));
        a.jump(Insn::jeq32_imm(SCRATCH, 0, 0), next_bit);
        for rule in rest.iter().rev().filter(|r| r.access.contains(bit)) {
            let no_match = a.label();
            let typ = if rule.kind == DeviceKind::Block { BPF_DEVCG_DEV_BLOCK } else { BPF_DEVCG_DEV_CHAR };
            a.jump(Insn::jne32_imm(TYPE, typ, 0), no_match);
            if let DevNum::Num(n) = rule.major {
                a.jump(Insn::jne32_imm(MAJOR, n, 0), no_match);
            }
            if let DevNum::Num(n) = rule.minor {
                a.jump(Insn::jne32_imm(MINOR, n, 0), no_match);
            }
            if rule.allow {
                a.jump(Insn::ja(0), next_bit);
            } else {
                a.push(Insn::mov32_imm(Reg::R0, 0));
                a.push(Insn::exit());
            }
            a.bind(no_match);
        }
        if !default_allow {
            a.push(Insn::mov32_imm(Reg::R0, 0));
            a.push(Insn::exit());
        }
        a.bind(next_bit);
    }
    a.push(Insn::mov32_imm(Reg::R0, 1));
    a.push(Insn::exit());
    a.finish().ok_or(DeviceCgroupError::TooLarge { op: "compile device program", rules: rules.len() })
}

#[cfg(test)]
#[path = "program_tests.rs"]
mod tests;
