//! The generated program is run here by a tiny interpreter of the instructions we emit and must
//! agree with `permits` on every rule list proptest invents; the real verifier and kernel check it
//! again in the privileged tests.

use proptest::prelude::*;

use super::*;
use crate::devices::insn::*;
use nsbox_core::devices::{permits, DOCKER_DEFAULT_RULES};

/// Runs `prog` on a `bpf_cgroup_dev_ctx`; panics on anything we never emit.
fn run(prog: &[Insn], ctx: [u32; 3]) -> u32 {
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    for _ in 0..100_000 {
        let i = prog[pc];
        let (d, s, imm) = (i.dst as usize, i.src as usize, i.imm as u32);
        pc += 1;
        match i.code {
            c if c == BPF_LDX | BPF_W | BPF_MEM => {
                assert_eq!(s, 1, "only the context is read");
                r[d] = u64::from(ctx[i.off as usize / 4]);
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => r[d] = u64::from(r[d] as u32 & imm),
            c if c == BPF_ALU | BPF_RSH | BPF_K => r[d] = u64::from((r[d] as u32) >> imm),
            c if c == BPF_ALU | BPF_MOV | BPF_K => r[d] = u64::from(imm),
            c if c == BPF_ALU | BPF_MOV | BPF_X => r[d] = u64::from(r[s] as u32),
            c if c == BPF_JMP32 | BPF_JNE | BPF_K && r[d] as u32 != imm => pc = (pc as i64 + i64::from(i.off)) as usize,
            c if c == BPF_JMP32 | BPF_JEQ | BPF_K && r[d] as u32 == imm => pc = (pc as i64 + i64::from(i.off)) as usize,
            c if c == BPF_JMP32 | BPF_JNE | BPF_K || c == BPF_JMP32 | BPF_JEQ | BPF_K => {}
            c if c == BPF_JMP | BPF_JA => pc = (pc as i64 + i64::from(i.off)) as usize,
            c if c == BPF_JMP | BPF_EXIT => return r[0] as u32,
            c => panic!("unexpected opcode {c:#x} at {}", pc - 1),
        }
    }
    panic!("program did not exit");
}

fn ctx(kind: DeviceKind, major: u32, minor: u32, access: Access) -> [u32; 3] {
    let typ = if kind == DeviceKind::Block { 1 } else { 2 };
    [u32::from(access.bits()) << 16 | typ, major, minor]
}

#[test]
fn docker_defaults_program_denies_opening_a_loop_device_but_not_mknod() {
    let p = compile(&DOCKER_DEFAULT_RULES).unwrap();
    assert_eq!(run(&p, ctx(DeviceKind::Block, 7, 0, Access::MKNOD)), 1);
    assert_eq!(run(&p, ctx(DeviceKind::Block, 7, 0, Access::from_bits(6).unwrap())), 0);
    assert_eq!(run(&p, ctx(DeviceKind::Char, 1, 3, Access::from_bits(6).unwrap())), 1);
    assert_eq!(run(&p, ctx(DeviceKind::Char, 136, 4, Access::RWM)), 1);
    assert_eq!(run(&p, ctx(DeviceKind::Char, 137, 4, Access::READ)), 0);
    assert!(p.len() < 200, "{} instructions", p.len());
}

#[test]
fn empty_list_denies_everything_and_allow_all_allows() {
    let deny = compile(&[]).unwrap();
    assert_eq!(run(&deny, ctx(DeviceKind::Char, 1, 3, Access::READ)), 0);
    let allow = compile(&[DeviceRule { allow: true, ..DeviceRule::DENY_ALL }]).unwrap();
    assert_eq!(run(&allow, ctx(DeviceKind::Block, 8, 0, Access::RWM)), 1);
}

#[test]
fn majors_above_2_pow_31_still_match() {
    let big = DeviceRule::allow(DeviceKind::Char, DevNum::Num(u32::MAX - 1), DevNum::Any, Access::READ);
    let p = compile(&[big]).unwrap();
    assert_eq!(run(&p, ctx(DeviceKind::Char, u32::MAX - 1, 9, Access::READ)), 1);
}

#[test]
fn a_list_too_long_for_jump_offsets_is_an_error_not_a_wrong_program() {
    let many = vec![DeviceRule::allow(DeviceKind::Char, DevNum::Num(1), DevNum::Num(1), Access::RWM); 9000];
    assert!(matches!(compile(&many), Err(DeviceCgroupError::TooLarge { rules: 9000, .. })));
}

fn small_num() -> impl Strategy<Value = DevNum> {
    prop_oneof![Just(DevNum::Any), (0u32..3).prop_map(DevNum::Num)]
}

fn rule() -> impl Strategy<Value = DeviceRule> {
    let kind = prop_oneof![1 => Just(DeviceKind::All), 4 => Just(DeviceKind::Block), 4 => Just(DeviceKind::Char)];
    (kind, small_num(), small_num(), 1u8..=7, any::<bool>()).prop_map(|(kind, major, minor, bits, allow)| DeviceRule {
        kind,
        major,
        minor,
        access: Access::from_bits(bits).unwrap(),
        allow,
    })
}

proptest! {
    #[test]
    fn program_agrees_with_permits(rules in proptest::collection::vec(rule(), 0..12), block in any::<bool>(),
                                   major in 0u32..3, minor in 0u32..3, bits in 1u8..=7) {
        let kind = if block { DeviceKind::Block } else { DeviceKind::Char };
        let access = Access::from_bits(bits).unwrap();
        let want = permits(&rules, kind, major, minor, access);
        let got = run(&compile(&rules)?, ctx(kind, major, minor, access));
        prop_assert_eq!(got == 1, want, "rules {:?}", rules.iter().map(|r| (r.to_string(), r.allow)).collect::<Vec<_>>());
    }
}
