//! Code for the builtins that read the probed context: `argN`, `sargN`, `retval`, `func` and
//! `reg()`. On x86-64, kprobes and uprobes get a `struct pt_regs *`; raw tracepoints and
//! fentry/fexit get an array of u64; USDT arguments are wherever the note's argument
//! specification says (registers, constants or user memory).

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Builtin, Expr, ExprKind};
use crate::sema::probe_builtins::register_offset;
use crate::sema::probes::usdt::{UsdtArg, UsdtLoc};
use crate::types::Type;
use btc_bpfprog::ProbeKind;
use inkwell::values::IntValue;

pub use crate::sema::probe_builtins::ARG_REGS;
/// `pt_regs` offset of ax (the return value).
pub const RET_REG: u32 = 80;
/// `pt_regs` offset of ip.
const IP_REG: u32 = 128;
/// `pt_regs` offset of sp.
pub const SP_REG: u32 = 152;

const BPF_FUNC_GET_FUNC_RET: u64 = 184;

impl<'ctx> FnCx<'_, 'ctx> {
    /// `argN`, `sargN`, `retval`, `func` (typed by `sema::probe_builtins`).
    pub(crate) fn probe_builtin(&mut self, b: Builtin, e: &Expr) -> R<Val<'ctx>> {
        let kind = self.inst.probe.kind.clone();
        if let Builtin::Arg(n) = b {
            let name = format!("arg{n}");
            let v = match &kind {
                ProbeKind::RawTracepoint { .. } => self.ctx_u64(8 * n)?,
                ProbeKind::Usdt { .. } if self.inst.probe.process.is_some() => self.usdt_arg_at_run_time(n)?,
                ProbeKind::Usdt { .. } => {
                    let args = self.inst.probe.usdt_args.clone().unwrap_or_default();
                    let a = args.get(n as usize).ok_or_else(|| llvm_err(format!("usdt {name}")))?.clone();
                    self.usdt_arg(&a)?
                }
                _ => {
                    let off = ARG_REGS.get(n as usize).ok_or_else(|| llvm_err(format!("{name} out of range")))?;
                    self.ctx_u64(*off)?
                }
            };
            return Ok(Val::Int(self.fit(v, &self.ty(e))?));
        }
        if let Builtin::Sarg(n) = b {
            // The return address is at sp; stack arguments follow it.
            let sp = self.ctx_u64(SP_REG)?;
            let addr = self.b.build_int_add(sp, self.u64c(8 + 8 * u64::from(n)), "sarg").map_err(llvm_err)?;
            let user = matches!(kind, ProbeKind::Uprobe { .. });
            return Ok(Val::Int(self.read_u64_at(addr, user)?));
        }
        match b {
            Builtin::Retval => {
                if matches!(kind, ProbeKind::Kfunc { .. }) {
                    let slot = self.alloca_bytes(8, "retval")?;
                    self.memset0(slot, 8)?;
                    self.helper(BPF_FUNC_GET_FUNC_RET, &[self.ctx_arg.into(), slot.into()])?;
                    // Typed from BTF: an `int` return value is sign-extended from 32 bits.
                    let v = self.load_i64(slot)?;
                    return Ok(Val::Int(self.fit(v, &self.ty(e))?));
                }
                Ok(Val::Int(self.ctx_u64(RET_REG)?))
            }
            // A wildcard uprobe expanded at run time: the function whose entry fired, as
            // bpftrace 0.20 has `func` in every uprobe (usym of the instruction pointer).
            _ if self.inst.probe.func.is_none() && self.inst.probe.process.is_some() => {
                let ip = self.ctx_u64(IP_REG)?;
                let pid = self.user_pid_word()?;
                self.record(e, &[ip, pid])
            }
            _ => {
                let f = self.inst.probe.func.clone().unwrap_or_default();
                self.string_literal(f.as_bytes(), &self.ty(e))
            }
        }
    }

    /// Whether the probe is in user space (its integers are user addresses for `str()`).
    pub(crate) fn user_space_probe(&self) -> bool {
        matches!(self.inst.probe.kind, ProbeKind::Uprobe { .. } | ProbeKind::Usdt { .. })
    }

    /// Probes whose memory bpftrace 0.20 doesn't place in either address space (BEGIN, END,
    /// timers, perf events, watchpoints): a pointer made from an integer there is read with
    /// the helpers that choose user or kernel memory by the address.
    pub(crate) fn no_address_space(&self) -> bool {
        matches!(
            self.inst.probe.kind,
            ProbeKind::Begin
                | ProbeKind::End
                | ProbeKind::Interval { .. }
                | ProbeKind::Profile { .. }
                | ProbeKind::Software { .. }
                | ProbeKind::Hardware { .. }
                | ProbeKind::Watchpoint { .. }
                | ProbeKind::WatchFunc { .. }
        )
    }

    /// `reg("name")`.
    pub(crate) fn reg_call(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let Some(Expr { kind: ExprKind::Str(r), .. }) = args.first() else { return Err(llvm_err("reg()")) };
        let off = register_offset(r).ok_or_else(|| llvm_err(format!("register {r}")))?;
        // perf event contexts (bpf_perf_event_data) start with the pt_regs too.
        Ok(Val::Int(self.ctx_u64(off)?))
    }

    /// Loads the u64 at `offset` in the context.
    pub(crate) fn ctx_u64(&mut self, offset: u32) -> R<IntValue<'ctx>> {
        let v = self.ctx_int(offset, &Type::U64)?;
        self.as_int(v)
    }

    /// Reads 8 bytes at the address `addr` (user or kernel memory); 0 if the read fails.
    fn read_u64_at(&mut self, addr: IntValue<'ctx>, user: bool) -> R<IntValue<'ctx>> {
        let slot = self.alloca_bytes(8, "rd")?;
        self.memset0(slot, 8)?;
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        let p = self.b.build_int_to_ptr(addr, ptr_ty, "src").map_err(llvm_err)?;
        let id = if user { helper::PROBE_READ_USER } else { helper::PROBE_READ_KERNEL };
        self.helper(id, &[slot.into(), self.u64c(8).into(), p.into()])?;
        self.load_i64(slot)
    }

    /// The value of one USDT argument, as a u64 (narrowed and extended by the caller's `fit`).
    fn usdt_arg(&mut self, a: &UsdtArg) -> R<IntValue<'ctx>> {
        match &a.loc {
            UsdtLoc::Const(c) => Ok(self.i64(*c)),
            UsdtLoc::Reg { offset, shift } => {
                let v = self.ctx_u64(*offset)?;
                if *shift == 0 {
                    Ok(v)
                } else {
                    self.b.build_right_shift(v, self.u64c(u64::from(*shift)), false, "hi").map_err(llvm_err)
                }
            }
            UsdtLoc::Symbol { symbol, .. } => Err(llvm_err(format!("unresolved USDT argument symbol {symbol}"))),
            UsdtLoc::Mem { base, index, disp } => {
                let mut addr = self.ctx_u64(*base)?;
                if let Some((reg, scale)) = index {
                    let i = self.ctx_u64(*reg)?;
                    let scaled = self.b.build_int_mul(i, self.u64c(u64::from(*scale)), "scaled").map_err(llvm_err)?;
                    addr = self.b.build_int_add(addr, scaled, "idx").map_err(llvm_err)?;
                }
                addr = self.b.build_int_add(addr, self.i64(*disp), "disp").map_err(llvm_err)?;
                let slot = self.alloca_bytes(8, "usdt")?;
                self.memset0(slot, 8)?;
                let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
                let p = self.b.build_int_to_ptr(addr, ptr_ty, "src").map_err(llvm_err)?;
                let size = self.u64c(u64::from(a.size));
                self.helper(helper::PROBE_READ_USER, &[slot.into(), size.into(), p.into()])?;
                self.load_i64(slot)
            }
        }
    }
}
