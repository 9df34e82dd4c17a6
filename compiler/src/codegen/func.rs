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
}

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
    let context = m.context;
    let ptr = context.ptr_type(AddressSpace::default());
    let fn_ty = context.i32_type().fn_type(&[ptr.into()], false);
    let func = m.module.add_function(name, fn_ty, None);
    func.set_section(Some(section));
    di.describe_function(func, name);
    let entry = context.append_basic_block(func, "entry");
    let b = context.create_builder();
    b.position_at_end(entry);
    let ctx_arg = func.get_nth_param(0).map(|p| p.into_pointer_value()).ok_or("program has no context")?;
    let mut f = FnCx { m, b, func, entry, ctx_arg, inst, di, vars: HashMap::new(), loops: Vec::new() };

    // Allocate every scratch variable up front, in the entry block.
    let mut names: Vec<(&String, &Type)> = inst.vars.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    for (var, ty) in names {
        let slot = f.alloca_for(ty, &format!("var_{var}"))?;
        f.zero(slot, ty)?;
        f.vars.insert(var.clone(), slot);
    }

    if let Some(pred) = &probe.predicate {
        let v = f.expr(pred)?;
        let v = f.as_int(v)?;
        let zero = f.i64(0);
        let pass = f.b.build_int_compare(inkwell::IntPredicate::NE, v, zero, "pred").map_err(llvm_err)?;
        let body = f.new_block("body");
        let skip = f.new_block("skip");
        f.b.build_conditional_branch(pass, body, skip).map_err(llvm_err)?;
        f.b.position_at_end(skip);
        f.b.build_return(Some(&context.i32_type().const_zero())).map_err(llvm_err)?;
        f.b.position_at_end(body);
    }
    f.block(&probe.body)?;
    f.b.build_return(Some(&context.i32_type().const_zero())).map_err(llvm_err)?;
    // Code after `return`, `exit()`, `break` or `continue` lands in blocks nothing jumps to;
    // an empty one still needs a terminator.
    for bb in func.get_basic_blocks() {
        if bb.get_terminator().is_none() {
            f.b.position_at_end(bb);
            f.b.build_unreachable().map_err(llvm_err)?;
        }
    }
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
            8 => c.i8_type(),
            16 => c.i16_type(),
            32 => c.i32_type(),
            _ => c.i64_type(),
        }
    }

    pub fn new_block(&self, name: &str) -> BasicBlock<'ctx> {
        self.m.context.append_basic_block(self.func, name)
    }

    /// `return 0`, leaving the builder in a fresh (unreachable) block for any code after it.
    pub fn ret(&mut self) -> R<()> {
        self.b.build_return(Some(&self.m.context.i32_type().const_zero())).map_err(llvm_err)?;
        let dead = self.new_block("after_return");
        self.b.position_at_end(dead);
        Ok(())
    }

    /// A stack slot in the entry block, so the verifier sees a fixed stack layout.
    pub fn alloca_bytes(&self, size: u32, name: &str) -> R<PointerValue<'ctx>> {
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

    pub fn alloca_for(&self, ty: &Type, name: &str) -> R<PointerValue<'ctx>> {
        self.alloca_bytes(ty.layout().size(), name)
    }

    /// Fills a stack slot of type `ty` with zeros.
    pub fn zero(&self, ptr: PointerValue<'ctx>, ty: &Type) -> R<()> {
        self.memset0(ptr, ty.layout().size())
    }

    pub fn memset0(&self, ptr: PointerValue<'ctx>, size: u32) -> R<()> {
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
        match call.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => Ok(v.into_int_value()),
            inkwell::values::ValueKind::Instruction(_) => Err(llvm_err("helper returned no value")),
        }
    }

    pub fn block(&mut self, b: &Block) -> R<()> {
        for s in &b.stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> R<()> {
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
            StmtKind::For { .. } => return Err("for loops are not supported yet".to_string()),
        }
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
