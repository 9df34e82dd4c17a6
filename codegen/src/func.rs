//! One BPF program: its function, scratch variables, statements and control flow.

use super::debuginfo::DebugInfo;
use super::ModuleCx;
use crate::ast::{Block, Probe, Stmt, StmtKind};
use crate::sema::Instance;
use crate::types::Type;
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::types::BasicType;
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, IntValue, PointerValue};
use inkwell::AddressSpace;
use std::collections::HashMap;

/// A value during code generation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'ctx> {
    /// An integer or pointer, always as i64.
    Int(IntValue<'ctx>),
    /// A value in memory (string, tuple) laid out as its type's `layout()`.
    Mem(PointerValue<'ctx>),
    /// No value.
    Void,
}

/// Per-program code generation state.
pub(crate) struct FnCx<'a, 'ctx> {
    pub m: &'a mut ModuleCx<'ctx>,
    pub b: Builder<'ctx>,
    pub func: FunctionValue<'ctx>,
    pub entry: BasicBlock<'ctx>,
    pub ctx_arg: PointerValue<'ctx>,
    pub inst: &'a Instance,
    /// Debug info of the module (CO-RE struct types).
    pub di: &'a DebugInfo<'ctx>,
    pub vars: HashMap<String, PointerValue<'ctx>>,
    /// (continue target, break target) of enclosing loops.
    pub loops: Vec<(BasicBlock<'ctx>, BasicBlock<'ctx>)>,
    /// Stack temporaries of the statements being generated, with their sizes. Each statement
    /// ends the lifetimes of the temporaries it made, so LLVM can reuse their stack space.
    pub temps: Vec<(PointerValue<'ctx>, u32)>,
    /// Large buffers live in a per-CPU scratch map rather than on the 512-byte BPF stack: a slot
    /// holding the pointer to this CPU's scratch area (filled in by the `scratch` block), the next
    /// free offset in it, and the most this program uses.
    pub scratch_slot: PointerValue<'ctx>,
    pub scratch_block: BasicBlock<'ctx>,
    pub scratch_off: u32,
    pub scratch_max: u32,
    /// The span of the expression being generated (where a helper error is reported).
    pub cur_span: std::cell::Cell<crate::diag::Span>,
    /// A 16-byte stack slot for helper-error events, made on first use.
    pub err_slot: std::cell::Cell<Option<PointerValue<'ctx>>>,
    /// In a loop body's callback (`codegen::loops`): where `return` tells the probe to end.
    pub ret_flag: Option<PointerValue<'ctx>>,
}

/// Buffers larger than this many bytes go to the scratch map instead of the stack.
pub(crate) const SCRATCH_MIN: u32 = 128;
/// Copies of more than this many bytes use a helper call instead of inline loads and stores.
const INLINE_COPY_MAX: u32 = 256;

pub(crate) type R<T> = Result<T, String>;

pub(crate) fn llvm_err(e: impl std::fmt::Display) -> String {
    format!("internal error while generating code: {e}")
}

/// Generates the program for one probe instance.
pub(crate) fn generate<'a, 'ctx>(
    m: &'a mut ModuleCx<'ctx>,
    di: &'a DebugInfo<'ctx>,
    name: &str,
    section: &str,
    probe: &Probe,
    inst: &'a Instance,
) -> R<FunctionValue<'ctx>> {
    build(m, di, name, section, probe.span, inst, |f| {
        // Allocate every scratch variable up front, in the entry block.
        let mut names: Vec<(&String, &Type)> = inst.vars.iter().collect();
        names.sort_by(|a, b| a.0.cmp(b.0));
        for (var, ty) in names {
            let size = ty.layout().size();
            let slot = if size > SCRATCH_MIN { f.scratch_alloc(size)? } else { f.alloca_slot(size, &format!("var_{var}"))? };
            f.zero(slot, ty)?;
            f.vars.insert(var.clone(), slot);
        }

        f.probe_prologue()?;
        if let Some(pred) = &probe.predicate {
            let v = f.expr(pred)?;
            let v = f.as_int(v)?;
            let zero = f.i64(0);
            let pass = f.b.build_int_compare(inkwell::IntPredicate::NE, v, zero, "pred").map_err(llvm_err)?;
            f.end_temps(0)?;
            let body = f.new_block("body");
            let skip = f.new_block("skip");
            f.b.build_conditional_branch(pass, body, skip).map_err(llvm_err)?;
            f.b.position_at_end(skip);
            f.b.build_return(Some(&f.m.context.i32_type().const_zero())).map_err(llvm_err)?;
            f.b.position_at_end(body);
        }
        f.block(&probe.body)
    })
}

/// Makes a program function `name` in `section` and fills its body with `body`, which
/// generates code for the probe `inst` (the program returns 0 after it).
pub(crate) fn build<'a, 'ctx>(
    m: &'a mut ModuleCx<'ctx>,
    di: &'a DebugInfo<'ctx>,
    name: &str,
    section: &str,
    span: crate::diag::Span,
    inst: &'a Instance,
    body: impl FnOnce(&mut FnCx<'a, 'ctx>) -> R<()>,
) -> R<FunctionValue<'ctx>> {
    let context = m.context;
    let ptr = context.ptr_type(AddressSpace::default());
    let fn_ty = context.i32_type().fn_type(&[ptr.into()], false);
    let func = m.module.add_function(name, fn_ty, None);
    func.set_section(Some(section));
    // No unwind tables: BPF has no unwinding, and they'd only add an .eh_frame section.
    let nounwind = inkwell::attributes::Attribute::get_named_enum_kind_id("nounwind");
    func.add_attribute(inkwell::attributes::AttributeLoc::Function, context.create_enum_attribute(nounwind, 0));
    di.describe_function(func, name);
    let entry = context.append_basic_block(func, "entry");
    let scratch_block = context.append_basic_block(func, "scratch");
    let body_start = context.append_basic_block(func, "start");
    let b = context.create_builder();
    b.position_at_end(entry);
    let ctx_arg = func.get_nth_param(0).map(|p| p.into_pointer_value()).ok_or("program has no context")?;
    let scratch_slot = b.build_alloca(ptr, "scratch_ptr").map_err(llvm_err)?;
    b.build_unconditional_branch(scratch_block).map_err(llvm_err)?;
    b.position_at_end(scratch_block);
    b.build_unconditional_branch(body_start).map_err(llvm_err)?;
    b.position_at_end(body_start);
    let mut f = FnCx {
        m,
        b,
        func,
        entry,
        ctx_arg,
        inst,
        di,
        vars: HashMap::new(),
        loops: Vec::new(),
        temps: Vec::new(),
        scratch_slot,
        scratch_block,
        scratch_off: 0,
        scratch_max: 0,
        cur_span: std::cell::Cell::new(span),
        err_slot: std::cell::Cell::new(None),
        ret_flag: None,
    };
    body(&mut f)?;
    f.b.build_return(Some(&context.i32_type().const_zero())).map_err(llvm_err)?;
    f.finish()?;
    Ok(func)
}

impl<'ctx> FnCx<'_, 'ctx> {
    pub fn i64(&self, v: i64) -> IntValue<'ctx> {
        self.m.context.i64_type().const_int(v as u64, true)
    }

    pub fn u64c(&self, v: u64) -> IntValue<'ctx> {
        self.m.context.i64_type().const_int(v, false)
    }

    /// The LLVM integer type of `bits` bits (8, 16, 32 or 64).
    pub fn int_type(&self, bits: u32) -> inkwell::types::IntType<'ctx> {
        let c = self.m.context;
        match bits {
            1 => c.bool_type(),
            8 => c.i8_type(),
            16 => c.i16_type(),
            32 => c.i32_type(),
            _ => c.i64_type(),
        }
    }

    pub fn new_block(&self, name: &str) -> BasicBlock<'ctx> {
        self.m.context.append_basic_block(self.func, name)
    }

    /// Ends the probe (`return 0`; in a loop body's callback: the flag set, `return 1`), leaving
    /// the builder in a fresh (unreachable) block for any code after it.
    pub fn ret(&mut self) -> R<()> {
        if let Some(flag) = self.ret_flag {
            self.store_i64(flag, self.i64(1))?;
            self.b.build_return(Some(&self.i64(1))).map_err(llvm_err)?;
        } else {
            self.build_ret_zero()?;
        }
        let dead = self.new_block("after_return");
        self.b.position_at_end(dead);
        Ok(())
    }

    /// Returns 0 from the function being generated (a program's i32, a callback's i64).
    pub fn build_ret_zero(&self) -> R<()> {
        if self.ret_flag.is_some() {
            self.b.build_return(Some(&self.i64(0))).map_err(llvm_err)?;
        } else {
            self.b.build_return(Some(&self.m.context.i32_type().const_zero())).map_err(llvm_err)?;
        }
        Ok(())
    }

    /// Completes the function once its body is generated.
    pub fn finish(&mut self) -> R<()> {
        self.fill_scratch_block()?;
        // Code after `return`, `exit()`, `break` or `continue` lands in blocks nothing jumps to;
        // an empty one still needs a terminator.
        for bb in self.func.get_basic_blocks() {
            if bb.get_terminator().is_none() {
                self.b.position_at_end(bb);
                self.b.build_unreachable().map_err(llvm_err)?;
            }
        }
        Ok(())
    }

    /// A temporary buffer, live from here to the end of the current statement: on the stack, or
    /// in the scratch map when large.
    pub fn alloca_bytes(&mut self, size: u32, name: &str) -> R<PointerValue<'ctx>> {
        if size > SCRATCH_MIN {
            return self.scratch_alloc(size);
        }
        let slot = self.alloca_slot(size, name)?;
        self.lifetime("llvm.lifetime.start", slot, size)?;
        self.temps.push((slot, size));
        Ok(slot)
    }

    /// `size` bytes of this CPU's scratch area. Statements release what they took (see `stmt`).
    pub fn scratch_alloc(&mut self, size: u32) -> R<PointerValue<'ctx>> {
        let off = self.scratch_off.next_multiple_of(8);
        self.scratch_off = off + size.next_multiple_of(8);
        self.scratch_max = self.scratch_max.max(self.scratch_off);
        let ptr_ty = self.m.context.ptr_type(AddressSpace::default());
        let base = self.b.build_load(ptr_ty, self.scratch_slot, "scratch").map_err(llvm_err)?.into_pointer_value();
        self.offset(base, off)
    }

    /// Looks up this CPU's scratch area at the start of the program, when the program uses one.
    fn fill_scratch_block(&mut self) -> R<()> {
        if self.scratch_max == 0 {
            return Ok(());
        }
        let size = self.scratch_max;
        let map = self.m.scratch_map(size);
        let Some(term) = self.scratch_block.get_terminator() else { return Ok(()) };
        self.b.position_before(&term);
        let key = self.alloca_slot(4, "scratch_key")?;
        self.b.build_store(key, self.m.context.i32_type().const_zero()).map_err(llvm_err)?;
        let r = self.helper(super::expr::helper::MAP_LOOKUP_ELEM, &[map.into(), key.into()])?;
        let ptr_ty = self.m.context.ptr_type(AddressSpace::default());
        let p = self.b.build_int_to_ptr(r, ptr_ty, "scratch_area").map_err(llvm_err)?;
        self.b.build_store(self.scratch_slot, p).map_err(llvm_err)?;
        let is_null = self.b.build_is_null(p, "no_scratch").map_err(llvm_err)?;
        let fail = self.new_block("no_scratch");
        let Some(body) = self.scratch_block.get_next_basic_block() else { return Ok(()) };
        self.b.build_conditional_branch(is_null, fail, body).map_err(llvm_err)?;
        term.erase_from_basic_block();
        self.b.position_at_end(fail);
        self.build_ret_zero()?;
        Ok(())
    }

    /// Ends the lifetimes of the temporaries made since `mark` (a length of `temps`).
    pub fn end_temps(&mut self, mark: usize) -> R<()> {
        let ended: Vec<_> = self.temps.drain(mark.min(self.temps.len())..).collect();
        for (slot, size) in ended.into_iter().rev() {
            self.lifetime("llvm.lifetime.end", slot, size)?;
        }
        Ok(())
    }

    fn lifetime(&self, which: &str, slot: PointerValue<'ctx>, size: u32) -> R<()> {
        let ptr = self.m.context.ptr_type(AddressSpace::default());
        let f = inkwell::intrinsics::Intrinsic::find(which)
            .and_then(|i| i.get_declaration(&self.m.module, &[ptr.into()]))
            .ok_or_else(|| llvm_err(format!("LLVM has no {which}")))?;
        let size = self.m.context.i64_type().const_int(u64::from(size.div_ceil(8) * 8), false);
        self.b.build_call(f, &[size.into(), slot.into()], "").map_err(llvm_err)?;
        Ok(())
    }

    /// A stack slot in the entry block, so the verifier sees a fixed stack layout.
    pub fn alloca_slot(&self, size: u32, name: &str) -> R<PointerValue<'ctx>> {
        let b = self.m.context.create_builder();
        match self.entry.get_first_instruction() {
            Some(i) => b.position_before(&i),
            None => b.position_at_end(self.entry),
        }
        let ty = self.m.context.i64_type().array_type(size.div_ceil(8).max(1));
        let slot = b.build_alloca(ty, name).map_err(llvm_err)?;
        if let Some(i) = slot.as_instruction() {
            let _ = i.set_alignment(8);
        }
        Ok(slot)
    }

    pub fn alloca_for(&mut self, ty: &Type, name: &str) -> R<PointerValue<'ctx>> {
        self.alloca_bytes(ty.layout().size(), name)
    }

    /// Fills a stack slot of type `ty` with zeros.
    pub fn zero(&self, ptr: PointerValue<'ctx>, ty: &Type) -> R<()> {
        self.memset0(ptr, ty.layout().size())
    }

    pub fn memset0(&self, ptr: PointerValue<'ctx>, size: u32) -> R<()> {
        if size > INLINE_COPY_MAX {
            // LLVM's BPF backend won't expand large memsets; store words explicitly (volatile, so
            // the optimizer doesn't merge them back into a memset).
            let zero = self.m.context.i64_type().const_zero();
            for off in (0..size / 8).map(|i| i * 8) {
                let st = self.b.build_store(self.offset(ptr, off)?, zero).map_err(llvm_err)?;
                st.set_volatile(true).map_err(llvm_err)?;
            }
            let i8t = self.m.context.i8_type();
            for off in (size / 8 * 8)..size {
                let st = self.b.build_store(self.offset(ptr, off)?, i8t.const_zero()).map_err(llvm_err)?;
                st.set_volatile(true).map_err(llvm_err)?;
            }
            return Ok(());
        }
        let i8t = self.m.context.i8_type();
        self.b
            .build_memset(ptr, 8, i8t.const_zero(), self.m.context.i64_type().const_int(u64::from(size), false))
            .map_err(llvm_err)?;
        Ok(())
    }

    pub fn memcpy(&self, dst: PointerValue<'ctx>, src: PointerValue<'ctx>, size: u32) -> R<()> {
        if size == 0 {
            return Ok(());
        }
        if size > INLINE_COPY_MAX {
            let id = super::expr::helper::PROBE_READ_KERNEL;
            self.helper(id, &[dst.into(), self.u64c(u64::from(size)).into(), src.into()])?;
            return Ok(());
        }
        self.b
            .build_memcpy(dst, 1, src, 1, self.m.context.i64_type().const_int(u64::from(size), false))
            .map_err(llvm_err)?;
        Ok(())
    }

    /// A pointer `offset` bytes after `base`.
    pub fn offset(&self, base: PointerValue<'ctx>, offset: u32) -> R<PointerValue<'ctx>> {
        if offset == 0 {
            return Ok(base);
        }
        let i8t = self.m.context.i8_type();
        // SAFETY of the GEP is the verifier's business; inkwell marks it unsafe for LLVM's rules.
        unsafe { self.b.build_gep(i8t, base, &[self.u64c(u64::from(offset))], "off") }.map_err(llvm_err)
    }

    /// Calls BPF helper number `id`.
    pub fn helper(&self, id: u64, args: &[BasicMetadataValueEnum<'ctx>]) -> R<IntValue<'ctx>> {
        let i64t = self.m.context.i64_type();
        let params: Vec<_> = args
            .iter()
            .map(|a| match a {
                BasicMetadataValueEnum::PointerValue(p) => p.get_type().into(),
                _ => i64t.into(),
            })
            .collect();
        let fn_ty = i64t.fn_type(&params, false);
        let ptr_ty = self.m.context.ptr_type(AddressSpace::default());
        let callee = self.b.build_int_to_ptr(i64t.const_int(id, false), ptr_ty, "helper").map_err(llvm_err)?;
        let call = self.b.build_indirect_call(fn_ty, callee, args, "h").map_err(llvm_err)?;
        let r = match call.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => v.into_int_value(),
            inkwell::values::ValueKind::Instruction(_) => return Err(llvm_err("helper returned no value")),
        };
        if let Some((name, level)) = reported_helper(id) {
            self.report_helper_error(name, level, r)?;
        }
        Ok(r)
    }

    pub fn block(&mut self, b: &Block) -> R<()> {
        for s in &b.stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> R<()> {
        let mark = self.temps.len();
        let scratch_mark = self.scratch_off;
        let outer = self.cur_span.replace(s.span);
        self.stmt_inner(s)?;
        self.cur_span.set(outer);
        self.scratch_off = scratch_mark;
        self.end_temps(mark)
    }

    fn stmt_inner(&mut self, s: &Stmt) -> R<()> {
        match &s.kind {
            StmtKind::Expr(e) => {
                self.expr(e)?;
            }
            StmtKind::Assign { target, op, value } => self.assign(target, *op, value)?,
            StmtKind::If { cond, then, els } => {
                let c = self.cond(cond)?;
                let then_bb = self.new_block("then");
                let else_bb = self.new_block("else");
                let end = self.new_block("endif");
                self.b.build_conditional_branch(c, then_bb, else_bb).map_err(llvm_err)?;
                self.b.position_at_end(then_bb);
                self.block(then)?;
                self.b.build_unconditional_branch(end).map_err(llvm_err)?;
                self.b.position_at_end(else_bb);
                if let Some(els) = els {
                    self.block(els)?;
                }
                self.b.build_unconditional_branch(end).map_err(llvm_err)?;
                self.b.position_at_end(end);
            }
            StmtKind::While { cond, body } => {
                let head = self.new_block("while_cond");
                let body_bb = self.new_block("while_body");
                let end = self.new_block("while_end");
                self.b.build_unconditional_branch(head).map_err(llvm_err)?;
                self.b.position_at_end(head);
                let c = self.cond(cond)?;
                self.b.build_conditional_branch(c, body_bb, end).map_err(llvm_err)?;
                self.b.position_at_end(body_bb);
                self.loops.push((head, end));
                self.block(body)?;
                self.loops.pop();
                self.b.build_unconditional_branch(head).map_err(llvm_err)?;
                self.b.position_at_end(end);
            }
            StmtKind::Unroll { count, body } => {
                if crate::sema::positional::is_param_read(count) {
                    return self.unroll_at_run_time(count, body);
                }
                let n = match count.kind {
                    crate::ast::ExprKind::Int(n) => n,
                    _ => 0,
                };
                for _ in 0..n {
                    self.block(body)?;
                }
            }
            StmtKind::Block(b) => self.block(b)?,
            StmtKind::Break | StmtKind::Continue => {
                let Some(&(cont, brk)) = self.loops.last() else { return Ok(()) };
                let target = if matches!(s.kind, StmtKind::Break) { brk } else { cont };
                self.b.build_unconditional_branch(target).map_err(llvm_err)?;
                let dead = self.new_block("after_jump");
                self.b.position_at_end(dead);
            }
            StmtKind::Return => self.ret()?,
            StmtKind::For { var, map, body, .. } => self.for_map(var, map, body)?,
            StmtKind::ForRange { var, start, end, body, .. } => self.for_range(var, start, end, body)?,
            StmtKind::Let { var, value, .. } => self.let_stmt(var, value.as_ref())?,
        }
        Ok(())
    }

    /// `unroll($N)` with a count the object reads when it runs (1 to 100, checked then): the
    /// body up to 100 times, each copy entered while the count isn't reached. The count is a
    /// constant of read-only data, so the verifier walks only the copies that run.
    fn unroll_at_run_time(&mut self, count: &crate::ast::Expr, body: &crate::ast::Block) -> R<()> {
        let v = self.expr(count)?;
        let n = self.as_int(v)?;
        let end = self.new_block("unroll_end");
        for i in 0..btc_bpfprog::params::MAX_UNROLL {
            let more = self
                .b
                .build_int_compare(inkwell::IntPredicate::SLT, self.i64(i64::from(i)), n, "unroll_more")
                .map_err(llvm_err)?;
            let copy = self.new_block("unroll_copy");
            self.b.build_conditional_branch(more, copy, end).map_err(llvm_err)?;
            self.b.position_at_end(copy);
            self.block(body)?;
        }
        self.b.build_unconditional_branch(end).map_err(llvm_err)?;
        self.b.position_at_end(end);
        Ok(())
    }

    /// Evaluates a condition to an i1.
    pub fn cond(&mut self, e: &crate::ast::Expr) -> R<IntValue<'ctx>> {
        let v = self.expr(e)?;
        let v = self.as_int(v)?;
        self.b.build_int_compare(inkwell::IntPredicate::NE, v, self.i64(0), "cond").map_err(llvm_err)
    }

    pub fn as_int(&self, v: Val<'ctx>) -> R<IntValue<'ctx>> {
        match v {
            Val::Int(i) => Ok(i),
            _ => Err(llvm_err("expected an integer value")),
        }
    }

    pub fn as_mem(&self, v: Val<'ctx>) -> R<PointerValue<'ctx>> {
        match v {
            Val::Mem(p) => Ok(p),
            _ => Err(llvm_err("expected a value in memory")),
        }
    }

    pub fn load_i64(&self, ptr: PointerValue<'ctx>) -> R<IntValue<'ctx>> {
        let i64t = self.m.context.i64_type();
        self.b.build_load(i64t.as_basic_type_enum(), ptr, "ld").map(|v| v.into_int_value()).map_err(llvm_err)
    }

    pub fn store_i64(&self, ptr: PointerValue<'ctx>, v: IntValue<'ctx>) -> R<()> {
        self.b.build_store(ptr, v).map_err(llvm_err)?;
        Ok(())
    }
}

/// The name of helper `id` when `-k`/`-kk` asks for its errors to be reported.
/// The name of a helper whose errors `-k`/`-kk` report, and the least level that reports them.
fn reported_helper(id: u64) -> Option<(&'static str, crate::HelperErrors)> {
    use crate::HelperErrors;
    let name = match id {
        2 => "map_update_elem",
        3 => "map_delete_elem",
        16 => "get_current_comm",
        27 => "get_stackid",
        4 => "probe_read",
        45 => "probe_read_str",
        112 => "probe_read_user",
        113 => "probe_read_kernel",
        114 => "probe_read_user_str",
        115 => "probe_read_kernel_str",
        _ => return None,
    };
    let is_read = matches!(id, 4 | 45 | 112..=115);
    Some((name, if is_read { HelperErrors::All } else { HelperErrors::Helpers }))
}

impl<'ctx> FnCx<'_, 'ctx> {
    /// Records where a reported helper call is (the current expression) and returns its
    /// index among the object's error sites.
    fn error_site(&self, helper: &str) -> u64 {
        let span = self.cur_span.get();
        let (line, col) = crate::diag::line_col(&self.m.source, span.start);
        let (_, end_col) = crate::diag::line_col(&self.m.source, span.end);
        let site = btc_bpfprog::ErrorSite {
            helper: helper.to_string(),
            // bpftrace's range: the end column is the one after the expression.
            location: format!("{}:{line}:{col}-{}", self.m.file, end_col.max(col + 1)),
            line: line as u32,
            col: col as u32,
            excerpt: crate::diag::excerpt_text(&self.m.source, span).replace('^', "~"),
        };
        let mut sites = self.m.error_sites.borrow_mut();
        sites.push(site);
        sites.len() as u64 - 1
    }

    /// With `-kk`, a map read that finds no value is reported as bpftrace 0.20 reports it: as
    /// a failed `map_lookup_elem` with return code 0. Call it where the key was not found.
    pub(crate) fn report_missing_key(&self) -> R<()> {
        let index = self.error_site("map_lookup_elem");
        let report = self.new_block("missing_key_report");
        let cont = self.new_block("missing_key_done");
        self.branch_if_reported(crate::HelperErrors::All, report, cont)?;
        self.b.position_at_end(report);
        self.send_helper_error(index, self.i64(0))?;
        self.b.build_unconditional_branch(cont).map_err(llvm_err)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// After a helper call: when it returned a negative error code and the run reports errors
    /// of this helper (`-k`/`-kk`, at least `level`), send a `HelperError` event naming the
    /// call's source location.
    fn report_helper_error(&self, helper: &str, level: crate::HelperErrors, r: inkwell::values::IntValue<'ctx>) -> R<()> {
        let index = self.error_site(helper);
        // The level first: it is a constant to the verifier, which then drops the whole check
        // when the run doesn't report this helper.
        let check = self.new_block("helper_error");
        let report = self.new_block("helper_error_report");
        let cont = self.new_block("helper_ok");
        self.branch_if_reported(level, check, cont)?;
        self.b.position_at_end(check);
        let failed = self.b.build_int_compare(inkwell::IntPredicate::SLT, r, self.i64(0), "herr").map_err(llvm_err)?;
        self.b.build_conditional_branch(failed, report, cont).map_err(llvm_err)?;
        self.b.position_at_end(report);
        self.send_helper_error(index, r)?;
        self.b.build_unconditional_branch(cont).map_err(llvm_err)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// Branches to `report` when the run's `-k` level
    /// ([`btc_bpfprog::runtime::RunSetting::HelperErrors`]) is at least `level`, else to `skip`.
    fn branch_if_reported(
        &self,
        level: crate::HelperErrors,
        report: inkwell::basic_block::BasicBlock<'ctx>,
        skip: inkwell::basic_block::BasicBlock<'ctx>,
    ) -> R<()> {
        // A frozen .rodata value: the verifier knows it and drops the report when it is off.
        let g = self
            .m
            .module
            .get_global(btc_bpfprog::runtime::RUN_SETTINGS_SYMBOL)
            .ok_or_else(|| llvm_err("no run settings"))?;
        let p = self.offset(g.as_pointer_value(), btc_bpfprog::runtime::RunSetting::HelperErrors as u32 * 8)?;
        let run_level = self.load_i64(p)?;
        let on = self
            .b
            .build_int_compare(inkwell::IntPredicate::UGE, run_level, self.u64c(level as u64), "k_level")
            .map_err(llvm_err)?;
        self.b.build_conditional_branch(on, report, skip).map_err(llvm_err)?;
        Ok(())
    }

    /// The 16-byte stack slot helper error events are built in (one per program).
    fn helper_error_slot(&self) -> R<PointerValue<'ctx>> {
        match self.err_slot.get() {
            Some(s) => Ok(s),
            None => {
                let s = self.alloca_slot(16, "helper_error")?;
                self.err_slot.set(Some(s));
                Ok(s)
            }
        }
    }

    /// Sends the `HelperError` event of error site `index` with return code `r`.
    fn send_helper_error(&self, index: u64, r: inkwell::values::IntValue<'ctx>) -> R<()> {
        let slot = self.helper_error_slot()?;
        let i32t = self.m.context.i32_type();
        self.b.build_store(slot, i32t.const_int(btc_bpfprog::ActionKind::HelperError as u64, false)).map_err(llvm_err)?;
        self.b.build_store(self.offset(slot, 4)?, i32t.const_int(index, false)).map_err(llvm_err)?;
        self.store_i64(self.offset(slot, 8)?, r)?;
        let rb = self.m.ringbuf.as_pointer_value();
        // ringbuf_output isn't a reported helper, so this doesn't recurse.
        self.helper(super::expr::helper::RINGBUF_OUTPUT, &[rb.into(), slot.into(), self.u64c(16).into(), self.u64c(0).into()])?;
        Ok(())
    }
}
