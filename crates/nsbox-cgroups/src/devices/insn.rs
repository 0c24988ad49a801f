//! A typed builder for the handful of eBPF instructions the device program needs, so the program is
//! written as `Insn::jne32_imm(Reg::R4, 7, ..)` rather than as bytes, plus forward labels so jump
//! offsets are computed instead of counted by hand.

/// The eleven eBPF registers: R0 return value, R1 the context pointer on entry, R10 frame pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reg {
    R0 = 0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
}

/// One instruction, fields as in the kernel's `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: Reg,
    pub src: Reg,
    pub off: i16,
    pub imm: i32,
}

// Opcode parts from linux/bpf_common.h and linux/bpf.h.
pub(crate) const BPF_LDX: u8 = 0x01;
pub(crate) const BPF_ALU: u8 = 0x04;
pub(crate) const BPF_JMP: u8 = 0x05;
pub(crate) const BPF_JMP32: u8 = 0x06;
pub(crate) const BPF_W: u8 = 0x00;
pub(crate) const BPF_MEM: u8 = 0x60;
pub(crate) const BPF_K: u8 = 0x00;
pub(crate) const BPF_X: u8 = 0x08;
pub(crate) const BPF_AND: u8 = 0x50;
pub(crate) const BPF_RSH: u8 = 0x70;
pub(crate) const BPF_MOV: u8 = 0xb0;
pub(crate) const BPF_JA: u8 = 0x00;
pub(crate) const BPF_JEQ: u8 = 0x10;
pub(crate) const BPF_JNE: u8 = 0x50;
pub(crate) const BPF_EXIT: u8 = 0x90;

const fn insn(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
    Insn { code, dst, src, off, imm }
}

// Device numbers are u32 and compared as u32: the 32-bit ALU and JMP32 classes keep a major above
// 2^31 from being sign-extended into a 64-bit immediate that would never match.
impl Insn {
    /// `dst = *(u32 *)(src + off)`.
    pub const fn ldx_w(dst: Reg, src: Reg, off: i16) -> Insn {
        insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
    }
    pub const fn and32_imm(dst: Reg, imm: u32) -> Insn {
        insn(BPF_ALU | BPF_AND | BPF_K, dst, Reg::R0, 0, imm as i32)
    }
    pub const fn rsh32_imm(dst: Reg, imm: u32) -> Insn {
        insn(BPF_ALU | BPF_RSH | BPF_K, dst, Reg::R0, 0, imm as i32)
    }
    pub const fn mov32_imm(dst: Reg, imm: u32) -> Insn {
        insn(BPF_ALU | BPF_MOV | BPF_K, dst, Reg::R0, 0, imm as i32)
    }
    pub const fn mov32_reg(dst: Reg, src: Reg) -> Insn {
        insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
    }
    /// `if (u32)dst != imm goto pc + 1 + off`.
    pub const fn jne32_imm(dst: Reg, imm: u32, off: i16) -> Insn {
        insn(BPF_JMP32 | BPF_JNE | BPF_K, dst, Reg::R0, off, imm as i32)
    }
    pub const fn jeq32_imm(dst: Reg, imm: u32, off: i16) -> Insn {
        insn(BPF_JMP32 | BPF_JEQ | BPF_K, dst, Reg::R0, off, imm as i32)
    }
    pub const fn ja(off: i16) -> Insn {
        insn(BPF_JMP | BPF_JA, Reg::R0, Reg::R0, off, 0)
    }
    pub const fn exit() -> Insn {
        insn(BPF_JMP | BPF_EXIT, Reg::R0, Reg::R0, 0, 0)
    }

    pub fn is_jump(&self) -> bool {
        matches!(self.code & 0x07, BPF_JMP | BPF_JMP32) && self.code != BPF_JMP | BPF_EXIT
    }

    pub fn encode(&self) -> RawInsn {
        // The kernel declares `__u8 dst_reg:4, src_reg:4`, a bitfield whose nibble order follows the
        // byte order.
        let regs = if cfg!(target_endian = "little") {
            self.dst as u8 | (self.src as u8) << 4
        } else {
            (self.dst as u8) << 4 | self.src as u8
        };
        RawInsn { code: self.code, regs, off: self.off, imm: self.imm }
    }
}

/// `struct bpf_insn` exactly as the kernel reads it.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct RawInsn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// Instructions plus labels; jumps to a label get their offset on `finish`.
#[derive(Default)]
pub struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// The next instruction pushed is the label's target.
    pub fn bind(&mut self, label: Label) {
        self.labels[label.0] = Some(self.insns.len());
    }

    pub fn push(&mut self, insn: Insn) {
        self.insns.push(insn);
    }

    /// A jump instruction (its `off` is ignored) that lands on `target`.
    pub fn jump(&mut self, insn: Insn, target: Label) {
        debug_assert!(insn.is_jump());
        self.fixups.push((self.insns.len(), target));
        self.insns.push(insn);
    }

    /// None when a label was never bound or a jump is longer than an i16 offset can say.
    pub fn finish(mut self) -> Option<Vec<Insn>> {
        for (at, label) in self.fixups {
            let target = self.labels[label.0]?;
            // Offsets count from the instruction after the jump.
            self.insns[at].off = i16::try_from(target as i64 - at as i64 - 1).ok()?;
        }
        Some(self.insns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_kernel_headers() {
        // Values as in linux/filter.h's BPF_LDX_MEM(BPF_W, R2, R1, 4) etc. and runc's device filter.
        let raw = |i: Insn| {
            let r = i.encode();
            (r.code, r.regs, r.off, r.imm)
        };
        assert_eq!(raw(Insn::ldx_w(Reg::R2, Reg::R1, 4)), (0x61, 0x12, 4, 0));
        assert_eq!(raw(Insn::and32_imm(Reg::R2, 0xffff)), (0x54, 0x02, 0, 0xffff));
        assert_eq!(raw(Insn::rsh32_imm(Reg::R3, 16)), (0x74, 0x03, 0, 16));
        assert_eq!(raw(Insn::mov32_imm(Reg::R0, 1)), (0xb4, 0x00, 0, 1));
        assert_eq!(raw(Insn::mov32_reg(Reg::R6, Reg::R3)), (0xbc, 0x36, 0, 0));
        assert_eq!(raw(Insn::jne32_imm(Reg::R4, u32::MAX, 3)), (0x56, 0x04, 3, -1));
        assert_eq!(raw(Insn::jeq32_imm(Reg::R6, 0, -2)), (0x16, 0x06, -2, 0));
        assert_eq!(raw(Insn::ja(5)), (0x05, 0x00, 5, 0));
        assert_eq!(raw(Insn::exit()), (0x95, 0x00, 0, 0));
        assert_eq!(std::mem::size_of::<RawInsn>(), 8);
    }

    #[test]
    fn labels_resolve_forward_and_backward() {
        let mut a = Asm::default();
        let (back, fwd) = (a.label(), a.label());
        a.bind(back);
        a.push(Insn::mov32_imm(Reg::R0, 0));
        a.jump(Insn::jeq32_imm(Reg::R0, 0, 0), fwd);
        a.jump(Insn::ja(0), back);
        a.bind(fwd);
        a.push(Insn::exit());
        let p = a.finish().unwrap();
        assert_eq!((p[1].off, p[2].off), (1, -3));
        let mut unbound = Asm::default();
        let l = unbound.label();
        unbound.jump(Insn::ja(0), l);
        assert!(unbound.finish().is_none());
    }
}
