//! Instruction boundaries of x86-64 machine code, found with iced-x86's decoder: a uprobe at
//! `func+offset` or at a raw address must start an instruction, or the traced program would
//! execute a corrupted instruction (bpftrace refuses such probes the same way).

use iced_x86::{Decoder, DecoderOptions};

/// The offsets (from the start of `code`) at which instructions start, in order; decoding stops
/// at the first byte sequence that is not an instruction.
pub fn instruction_starts(code: &[u8]) -> Option<Vec<u64>> {
    let mut decoder = Decoder::new(64, code, DecoderOptions::NONE);
    let mut starts = Vec::new();
    while decoder.can_decode() {
        starts.push(decoder.position() as u64);
        // A truncated or undefined instruction still starts where it is; nothing after it is
        // known to.
        if decoder.decode().is_invalid() {
            break;
        }
    }
    Some(starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        // push %rbp; mov %rsp,%rbp; lea (%rdi,%rsi),%eax; pop %rbp; ret
        let code = [0x55, 0x48, 0x89, 0xe5, 0x8d, 0x04, 0x37, 0x5d, 0xc3];
        assert_eq!(instruction_starts(&code), Some(vec![0, 1, 4, 7, 8]));
    }

    #[test]
    fn prefixes_vex_evex_and_long_immediates() {
        let code = [
            0xf3, 0x0f, 0x1e, 0xfa, // endbr64
            0x66, 0x90, // xchg %ax,%ax
            0xc5, 0xf8, 0x77, // vzeroupper (VEX)
            0x62, 0xf1, 0x7c, 0x48, 0x10, 0x04, 0x24, // vmovups (%rsp),%zmm0 (EVEX)
            0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, // movabs $imm64,%rax
            0xe8, 0, 0, 0, 0, // call
            0x0f, 0x0b, // ud2
            0x06, // push %es: not an instruction in 64-bit mode
            0x90,
        ];
        assert_eq!(instruction_starts(&code), Some(vec![0, 4, 6, 9, 16, 26, 31, 33]));
        // An instruction cut short starts where it is, and ends the list.
        assert_eq!(instruction_starts(&code[..20]), Some(vec![0, 4, 6, 9, 16]));
    }
}
