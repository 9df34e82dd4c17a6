//! Builtins: `pid`, `comm`, `nsecs`, ...

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Builtin, Expr};

impl<'ctx> FnCx<'_, 'ctx> {
    pub(crate) fn builtin(&mut self, name: &str, e: &Expr) -> R<Val<'ctx>> {
        use helper::*;
        // Identifiers that are no builtin are enum constants, which the checker folded.
        let b = Builtin::from_name(name).ok_or_else(|| format!("the {name} builtin is not supported yet"))?;
        let v = match b {
            Builtin::Pid | Builtin::Tid => {
                let r = self.helper(GET_CURRENT_PID_TGID, &[])?;
                if b == Builtin::Pid {
                    self.b.build_right_shift(r, self.u64c(32), false, "pid").map_err(llvm_err)?
                } else {
                    self.b.build_and(r, self.u64c(0xffff_ffff), "tid").map_err(llvm_err)?
                }
            }
            Builtin::Uid | Builtin::Gid => {
                let r = self.helper(GET_CURRENT_UID_GID, &[])?;
                if b == Builtin::Gid {
                    self.b.build_right_shift(r, self.u64c(32), false, "gid").map_err(llvm_err)?
                } else {
                    self.b.build_and(r, self.u64c(0xffff_ffff), "uid").map_err(llvm_err)?
                }
            }
            Builtin::Nsecs => self.helper(KTIME_GET_BOOT_NS, &[])?,
            Builtin::Cpu => self.helper(GET_SMP_PROCESSOR_ID, &[])?,
            Builtin::Rand => self.helper(GET_PRANDOM_U32, &[])?,
            Builtin::Numaid => self.helper(GET_NUMA_NODE_ID, &[])?,
            Builtin::Cgroup => self.helper(GET_CURRENT_CGROUP_ID, &[])?,
            Builtin::Jiffies => self.helper(JIFFIES64, &[])?,
            Builtin::Curtask => self.helper(GET_CURRENT_TASK, &[])?,
            // `ctx` of an iterator: the context pointer, typed by the checker.
            Builtin::Ctx => {
                let i64t = self.m.context.i64_type();
                return Ok(Val::Int(self.b.build_ptr_to_int(self.ctx_arg, i64t, "ctx").map_err(llvm_err)?));
            }
            Builtin::Kstack | Builtin::Ustack | Builtin::Cpid | Builtin::Elapsed => return self.runtime_builtin(b, e),
            Builtin::Username => return self.username(e),
            Builtin::Args => return self.uprobe_args_value(e),
            Builtin::Comm => {
                let slot = self.alloca_bytes(16, "comm")?;
                self.helper(GET_CURRENT_COMM, &[slot.into(), self.u64c(16).into()])?;
                return Ok(Val::Mem(slot));
            }
            Builtin::Arg(_) | Builtin::Sarg(_) | Builtin::Retval | Builtin::Func => return self.probe_builtin(b, e),
            // A site found at run time: its cookie, which the runtime names.
            Builtin::Probe if matches!(self.ty(e), crate::types::Type::Runtime(btc_bpfprog::RuntimeTy::SiteName)) => {
                let cookie = self.attach_cookie()?;
                return self.record(e, &[cookie]);
            }
            Builtin::Probe => {
                let name = self.inst.probe.name.clone();
                return self.string_literal(name.as_bytes(), &self.ty(e));
            }
        };
        // Helpers returning 32-bit values may leave garbage in the upper half.
        Ok(Val::Int(self.fit(v, &self.ty(e))?))
    }

}
