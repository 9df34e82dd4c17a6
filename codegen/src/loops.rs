//! bpftrace 0.26's loops: `for ($kv : @m)` (bpf_for_each_map_elem) and `for ($i : a..b)`
//! (bpf_loop), whose bodies are callback subprograms, and `let` declarations.
//!
//! A callback sees the probe's variables through a context record on the probe's stack:
//! `[probe ctx][return flag][range start][pointer to each variable the body uses]`. The
//! verifier follows the pointers into the caller's frame (or scratch map), and the probe's
//! context pointer keeps its type through the spill, so builtins that need it work in the
//! body. `break` returns 1 from the callback (the helper stops), `continue` returns 0, and
//! `return` sets the flag and returns 1; the caller then ends the probe.

use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Block, Expr, ExprKind, StmtKind};
use crate::types::Type;
use inkwell::module::Linkage;
use inkwell::values::{FunctionValue, PointerValue};
use inkwell::AddressSpace;
use std::collections::{BTreeSet, HashMap};

/// bpf_loop's helper number.
const LOOP: u64 = 181;
const CTX_PROBE: u32 = 0;
const CTX_RETURN: u32 = 8;
const CTX_START: u32 = 16;
const CTX_VARS: u32 = 24;

/// What a loop's callback is called with.
enum Kind {
    /// bpf_loop: `(index, ctx)`; the variable is start + index.
    Range,
    /// bpf_for_each_map_elem: `(map, key, value, ctx)`; the variable is `(key, value)`.
    Map { key: Type, value: Type },
}

/// The variables a loop body refers to (the loop's own and nested loops' included).
fn used_vars(var: &str, body: &Block) -> BTreeSet<String> {
    let mut names = BTreeSet::from([var.to_string()]);
    collect(body, &mut names);
    names
}

fn collect(b: &Block, names: &mut BTreeSet<String>) {
    crate::ast::visit_block(b, &mut |e| {
        if let ExprKind::Var(v) = &e.kind {
            names.insert(v.clone());
        }
    });
    // Loop variables and declarations are not expressions.
    for s in &b.stmts {
        match &s.kind {
            StmtKind::For { var, body, .. } | StmtKind::ForRange { var, body, .. } => {
                names.insert(var.clone());
                collect(body, names);
            }
            StmtKind::Let { var, .. } => {
                names.insert(var.clone());
            }
            StmtKind::If { then, els, .. } => {
                collect(then, names);
                if let Some(e) = els {
                    collect(e, names);
                }
            }
            StmtKind::While { body, .. } | StmtKind::Unroll { body, .. } | StmtKind::Block(body) => collect(body, names),
            _ => {}
        }
    }
}

impl<'ctx> FnCx<'_, 'ctx> {
    /// `let $x [= value]`: the value converted to the variable's type, or zeros.
    pub fn let_stmt(&mut self, var: &str, value: Option<&Expr>) -> R<()> {
        let slot = *self.vars.get(var).ok_or_else(|| llvm_err(format!("unknown variable {var}")))?;
        let tt = self.inst.vars.get(var).cloned().unwrap_or(Type::I64);
        self.zero(slot, &tt)?;
        if let Some(value) = value {
            let v = self.expr(value)?;
            let v = match v {
                Val::Int(i) => Val::Int(self.fit(i, &tt)?),
                other => other,
            };
            let from = self.ty(value);
            self.store_value(slot, &tt, v, &from)?;
        }
        Ok(())
    }

    /// `for ($i : start..end) { body }`.
    pub fn for_range(&mut self, var: &str, start: &Expr, end: &Expr, body: &Block) -> R<()> {
        let s = self.expr(start)?;
        let s = self.as_int(s)?;
        let e = self.expr(end)?;
        let e = self.as_int(e)?;
        let empty = self.b.build_int_compare(inkwell::IntPredicate::SGE, s, e, "range_empty").map_err(llvm_err)?;
        let n = self.b.build_int_sub(e, s, "range_n").map_err(llvm_err)?;
        let n = self.b.build_select(empty, self.i64(0), n, "range_count").map_err(llvm_err)?.into_int_value();
        self.run_loop(var, body, Kind::Range, |f, cb, ctx| {
            let fptr = cb.as_global_value().as_pointer_value();
            f.helper(LOOP, &[n.into(), fptr.into(), ctx.into(), f.u64c(0).into()])?;
            Ok(())
        }, Some(s))
    }

    /// `for ($kv : @m) { body }`.
    pub fn for_map(&mut self, var: &str, map: &Expr, body: &Block) -> R<()> {
        let ExprKind::Map { name, .. } = &map.kind else { return Err(llvm_err("for loop without a map")) };
        let Type::Tuple(parts) = self.ty(map) else { return Err(llvm_err("for loop element")) };
        let [key, value] = parts.as_slice() else { return Err(llvm_err("for loop element")) };
        let (global, _, _, _, _) = self.map_global(name)?;
        let kind = Kind::Map { key: key.clone(), value: value.clone() };
        self.run_loop(var, body, kind, |f, cb, ctx| {
            let fptr = cb.as_global_value().as_pointer_value();
            f.helper(super::expr::helper::FOR_EACH_MAP_ELEM, &[global.into(), fptr.into(), ctx.into(), f.u64c(0).into()])?;
            Ok(())
        }, None)
    }

    fn run_loop(
        &mut self,
        var: &str,
        body: &Block,
        kind: Kind,
        call: impl FnOnce(&mut Self, FunctionValue<'ctx>, PointerValue<'ctx>) -> R<()>,
        start: Option<inkwell::values::IntValue<'ctx>>,
    ) -> R<()> {
        let names: Vec<String> = used_vars(var, body).into_iter().filter(|n| self.vars.contains_key(n)).collect();
        let size = CTX_VARS + 8 * names.len() as u32;
        let ctx = self.alloca_slot(size, "loop_ctx")?;
        self.b.build_store(self.offset(ctx, CTX_PROBE)?, self.ctx_arg).map_err(llvm_err)?;
        self.store_i64(self.offset(ctx, CTX_RETURN)?, self.i64(0))?;
        self.store_i64(self.offset(ctx, CTX_START)?, start.unwrap_or(self.i64(0)))?;
        for (i, n) in names.iter().enumerate() {
            let slot = self.vars[n];
            self.b.build_store(self.offset(ctx, CTX_VARS + 8 * i as u32)?, slot).map_err(llvm_err)?;
        }
        let cb = self.callback(var, body, &kind, &names)?;
        call(self, cb, ctx)?;
        // `return` in the body ends the probe.
        let flag = self.load_i64(self.offset(ctx, CTX_RETURN)?)?;
        let returned = self.b.build_int_compare(inkwell::IntPredicate::NE, flag, self.i64(0), "loop_returned").map_err(llvm_err)?;
        let ret_bb = self.new_block("loop_return");
        let cont = self.new_block("loop_done");
        self.b.build_conditional_branch(returned, ret_bb, cont).map_err(llvm_err)?;
        self.b.position_at_end(ret_bb);
        self.ret()?;
        self.b.build_unconditional_branch(cont).map_err(llvm_err)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// The callback subprogram running `body` once per element.
    fn callback(&mut self, var: &str, body: &Block, kind: &Kind, names: &[String]) -> R<FunctionValue<'ctx>> {
        let context = self.m.context;
        let ptr = context.ptr_type(AddressSpace::default());
        let i64t = context.i64_type();
        let n = self.m.module.get_functions().count();
        let (fn_ty, params): (_, &[&str]) = match kind {
            Kind::Range => (i64t.fn_type(&[i64t.into(), ptr.into()], false), &["index", "ctx"]),
            Kind::Map { .. } => (i64t.fn_type(&[ptr.into(); 4], false), &["map", "key", "value", "ctx"]),
        };
        let name = format!("loop_body_{n}");
        let func = self.m.module.add_function(&name, fn_ty, Some(Linkage::Internal));
        let nounwind = inkwell::attributes::Attribute::get_named_enum_kind_id("nounwind");
        func.add_attribute(inkwell::attributes::AttributeLoc::Function, context.create_enum_attribute(nounwind, 0));
        self.di.describe_callback(func, &name, params);
        let param = |i: u32| func.get_nth_param(i).ok_or_else(|| llvm_err("callback parameter"));
        let ctx = match kind {
            Kind::Range => param(1)?.into_pointer_value(),
            Kind::Map { .. } => param(3)?.into_pointer_value(),
        };
        let entry = context.append_basic_block(func, "entry");
        let scratch_block = context.append_basic_block(func, "scratch");
        let start_bb = context.append_basic_block(func, "start");
        let b = context.create_builder();
        b.position_at_end(entry);
        let scratch_slot = b.build_alloca(ptr, "scratch_ptr").map_err(llvm_err)?;
        b.build_unconditional_branch(scratch_block).map_err(llvm_err)?;
        b.position_at_end(scratch_block);
        b.build_unconditional_branch(start_bb).map_err(llvm_err)?;
        b.position_at_end(start_bb);
        let load_ptr = |b: &inkwell::builder::Builder<'ctx>, off: u32| -> R<PointerValue<'ctx>> {
            let p = unsafe { b.build_gep(context.i8_type(), ctx, &[i64t.const_int(u64::from(off), false)], "cap") }
                .map_err(llvm_err)?;
            Ok(b.build_load(ptr, p, "captured").map_err(llvm_err)?.into_pointer_value())
        };
        let probe_ctx = load_ptr(&b, CTX_PROBE)?;
        let mut vars = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            vars.insert(n.clone(), load_ptr(&b, CTX_VARS + 8 * i as u32)?);
        }
        let ret_flag = unsafe { b.build_gep(context.i8_type(), ctx, &[i64t.const_int(u64::from(CTX_RETURN), false)], "ret_flag") }
            .map_err(llvm_err)?;
        let mut f = FnCx {
            m: &mut *self.m,
            b,
            func,
            entry,
            ctx_arg: probe_ctx,
            inst: self.inst,
            di: self.di,
            vars,
            loops: Vec::new(),
            temps: Vec::new(),
            scratch_slot,
            scratch_block,
            scratch_off: self.scratch_off,
            scratch_max: self.scratch_max,
            cur_span: std::cell::Cell::new(self.cur_span.get()),
            err_slot: std::cell::Cell::new(None),
            ret_flag: Some(ret_flag),
        };
        // The loop variable.
        let slot = *f.vars.get(var).ok_or_else(|| llvm_err("loop variable"))?;
        match kind {
            Kind::Range => {
                let index = param(0)?.into_int_value();
                let start = f.load_i64(f.offset(ctx, CTX_START)?)?;
                let v = f.b.build_int_add(start, index, "i").map_err(llvm_err)?;
                f.store_i64(slot, v)?;
            }
            Kind::Map { key, value, .. } => {
                let elem = Type::Tuple(vec![key.clone(), value.clone()]);
                let btc_bpfprog::Ty::Tuple { fields, .. } = elem.layout() else { return Err(llvm_err("loop element")) };
                f.zero(slot, &elem)?;
                for ((t, p), field) in [(key, param(1)?), (value, param(2)?)].into_iter().zip(fields) {
                    let p = p.into_pointer_value();
                    let v = if t.is_scalar() { Val::Int(f.load_i64(p)?) } else { Val::Mem(p) };
                    let dst = f.offset(slot, field.offset)?;
                    f.store_member(dst, t, v, t)?;
                }
            }
        }
        let cont = f.new_block("next");
        let brk = f.new_block("stop");
        f.loops.push((cont, brk));
        f.block(body)?;
        f.loops.pop();
        f.b.build_unconditional_branch(cont).map_err(llvm_err)?;
        f.b.position_at_end(cont);
        f.b.build_return(Some(&i64t.const_zero())).map_err(llvm_err)?;
        f.b.position_at_end(brk);
        f.b.build_return(Some(&i64t.const_int(1, false))).map_err(llvm_err)?;
        f.finish()?;
        let used = f.scratch_max;
        self.scratch_max = self.scratch_max.max(used);
        Ok(func)
    }
}
