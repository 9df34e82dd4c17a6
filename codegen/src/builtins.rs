//! Builtins: `pid`, `comm`, `nsecs`, ...

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::Expr;

impl<'ctx> FnCx<'_, 'ctx> {
    pub(crate) fn builtin(&mut self, name: &str, e: &Expr) -> R<Val<'ctx>> {
        use helper::*;
        let v = match name {
            "pid" | "tid" => {
                let r = self.helper(GET_CURRENT_PID_TGID, &[])?;
                if name == "pid" {
                    self.b.build_right_shift(r, self.u64c(32), false, "pid").map_err(llvm_err)?
                } else {
                    self.b.build_and(r, self.u64c(0xffff_ffff), "tid").map_err(llvm_err)?
                }
            }
            "uid" | "gid" => {
                let r = self.helper(GET_CURRENT_UID_GID, &[])?;
                if name == "gid" {
                    self.b.build_right_shift(r, self.u64c(32), false, "gid").map_err(llvm_err)?
                } else {
                    self.b.build_and(r, self.u64c(0xffff_ffff), "uid").map_err(llvm_err)?
                }
            }
            "nsecs" => self.helper(KTIME_GET_BOOT_NS, &[])?,
            "cpu" => self.helper(GET_SMP_PROCESSOR_ID, &[])?,
            "rand" => self.helper(GET_PRANDOM_U32, &[])?,
            "numaid" => self.helper(GET_NUMA_NODE_ID, &[])?,
            "cgroup" => self.helper(GET_CURRENT_CGROUP_ID, &[])?,
            "jiffies" => self.helper(JIFFIES64, &[])?,
            "curtask" => self.helper(GET_CURRENT_TASK, &[])?,
            // `ctx` of an iterator: the context pointer, typed by the checker.
            "ctx" => {
                let i64t = self.m.context.i64_type();
                return Ok(Val::Int(self.b.build_ptr_to_int(self.ctx_arg, i64t, "ctx").map_err(llvm_err)?));
            }
            "kstack" | "ustack" | "cpid" | "elapsed" => return self.runtime_builtin(name, e),
            "username" => return self.username(e),
            "args" => return self.uprobe_args_value(e),
            "comm" => {
                let slot = self.alloca_bytes(16, "comm")?;
                self.helper(GET_CURRENT_COMM, &[slot.into(), self.u64c(16).into()])?;
                return Ok(Val::Mem(slot));
            }
            _ if crate::sema::probe_builtins::is_probe_builtin(name) => return self.probe_builtin(name, e),
            // A site found at run time: its cookie, which the runtime names.
            "probe" if matches!(self.ty(e), crate::types::Type::Runtime(btc_bpfprog::RuntimeTy::SiteName)) => {
                let cookie = self.attach_cookie()?;
                return self.record(e, &[cookie]);
            }
            "probe" => {
                let name = self.inst.probe.name.clone();
                return self.string_literal(name.as_bytes(), &self.ty(e));
            }
            other => return Err(format!("the {other} builtin is not supported yet")),
        };
        // Helpers returning 32-bit values may leave garbage in the upper half.
        Ok(Val::Int(self.fit(v, &self.ty(e))?))
    }

}
