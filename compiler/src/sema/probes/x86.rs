//! Instruction boundaries of x86-64 machine code, found with LLVM's disassembler: a uprobe at
//! `func+offset` or at a raw address must start an instruction, or the traced program would
//! execute a corrupted instruction (bpftrace refuses such probes the same way).

use llvm_sys::disassembler::{LLVMCreateDisasm, LLVMDisasmDispose, LLVMDisasmInstruction};
use std::sync::Once;

static INIT: Once = Once::new();

/// The offsets (from the start of `code`) at which instructions start, in order; decoding stops
/// at the first byte sequence that is not an instruction.
pub fn instruction_starts(code: &[u8]) -> Option<Vec<u64>> {
    INIT.call_once(|| {
        // SAFETY: LLVM's target initialisers are idempotent and take no arguments.
        unsafe {
            llvm_sys::target::LLVMInitializeX86TargetInfo();
            llvm_sys::target::LLVMInitializeX86TargetMC();
            llvm_sys::target::LLVMInitializeX86Disassembler();
        }
    });
    let triple = c"x86_64-unknown-linux-gnu";
    // SAFETY: a valid triple, no callbacks; the context is disposed below.
    let dc = unsafe { LLVMCreateDisasm(triple.as_ptr(), std::ptr::null_mut(), 0, None, None) };
    if dc.is_null() {
        return None;
    }
    let mut buf = code.to_vec();
    let mut text = [0 as std::ffi::c_char; 128];
    let mut starts = Vec::new();
    let mut off = 0usize;
    while off < buf.len() {
        starts.push(off as u64);
        // SAFETY: the slice from `off` is in bounds; `text` has the size we pass.
        let n = unsafe {
            LLVMDisasmInstruction(
                dc,
                buf.as_mut_ptr().add(off),
                (buf.len() - off) as u64,
                off as u64,
                text.as_mut_ptr(),
                text.len(),
            )
        };
        if n == 0 {
            break;
        }
        off += n;
    }
    // SAFETY: created above, not used afterwards.
    unsafe { LLVMDisasmDispose(dc) };
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
}
