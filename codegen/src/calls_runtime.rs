//! Code for the functions and builtins the runtime serves (see `sema/calls_runtime.rs`).
//!
//! Most of them only record a value for the runtime to format later (an address, a stack id, a
//! timestamp...) laid out as [`btc_bpfprog::RuntimeTy`] says; `time`, `system`, `cat` and
//! `join` send an event; `signal`, `override` and `path` call their BPF helper.

use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Builtin, Expr, ExprKind, Func};
use crate::catalogue::Runtime;
use crate::sema::calls_runtime::{pton, signal_number, DEFAULT_TIME_FORMAT};
use crate::types::Type;
use btc_bpfprog::{runtime, ActionKind, RuntimeTy, Ty, EVENT_HEADER_SIZE};
use inkwell::values::{GlobalValue, IntValue, PointerValue};
use inkwell::IntPredicate;
use std::collections::HashMap;

/// BPF helper numbers used here (include/uapi/linux/bpf.h).
pub(crate) mod helper {
    pub const PROBE_READ_KERNEL: u64 = 113;
    pub const PROBE_READ_USER: u64 = 112;
    pub const PROBE_READ_USER_STR: u64 = 114;
    pub const PROBE_READ_KERNEL_STR: u64 = 115;
    pub const GET_STACKID: u64 = 27;
    pub const OVERRIDE_RETURN: u64 = 58;
    pub const SEND_SIGNAL: u64 = 109;
    pub const RINGBUF_RESERVE: u64 = 131;
    pub const RINGBUF_SUBMIT: u64 = 132;
    pub const D_PATH: u64 = 147;
    pub const GET_CURRENT_PID_TGID: u64 = 14;
    pub const KTIME_GET_BOOT_NS: u64 = 125;
    pub const MAP_LOOKUP_ELEM: u64 = 1;
}

const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_STACK_TRACE: u32 = 7;
const BPF_F_USER_STACK: u64 = 1 << 8;
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;

/// Most strings `join()` sends, and the size of each (as bpftrace's join limits).
pub const JOIN_MAX_ARGS: u32 = 16;
pub const JOIN_ARG_SIZE: u32 = 512;

/// The maps the runtime-served functions need besides user maps.
pub(crate) struct RuntimeMaps<'ctx> {
    /// [`runtime::VARS_MAP`], when `cpid` or `elapsed` is used.
    pub vars: Option<GlobalValue<'ctx>>,
    /// Stack trace maps by name.
    pub stacks: HashMap<String, GlobalValue<'ctx>>,
    /// [`btc_bpfprog::usdt::USDT_SPECS_MAP`], when a USDT probe is resolved at run time.
    pub usdt_specs: Option<GlobalValue<'ctx>>,
}

/// Defines a `.maps` map with the given name and attributes.
pub(crate) type DefineMap<'a, 'ctx> = &'a dyn Fn(&str, &[(&str, u32)]) -> GlobalValue<'ctx>;

/// Defines the maps the program's runtime-served functions use, with `define_map(name, attrs)`.
pub(crate) fn define_maps<'ctx>(
    prog: &crate::ast::Program,
    analysis: &crate::sema::Analysis,
    max_map_keys: u32,
    define_map: DefineMap<'_, 'ctx>,
) -> RuntimeMaps<'ctx> {
    let mut stacks = HashMap::new();
    for inst in &analysis.instances {
        for ty in inst.types.iter().flatten() {
            if let Type::Runtime(RuntimeTy::Kstack { map, limit, .. } | RuntimeTy::Ustack { map, limit, .. }) = ty {
                stacks.entry(map.clone()).or_insert_with(|| {
                    define_map(
                        map,
                        &[
                            ("type", BPF_MAP_TYPE_STACK_TRACE),
                            ("max_entries", max_map_keys),
                            ("key_size", 4),
                            ("value_size", 8 * *limit),
                        ],
                    )
                });
            }
        }
    }
    // The Debug form of the AST names every builtin as `Builtin("name")`: a cheap, exact test.
    let ast = format!("{:?}", prog.probes);
    // `sw_tai` is only valid as the argument of nsecs(), whose value adds the TAI offset.
    let uses_vars = ["cpid", "elapsed", "sw_tai"].iter().any(|b| ast.contains(&format!("Builtin({b:?})")));
    let vars = uses_vars.then(|| {
        define_map(
            runtime::VARS_MAP,
            &[("type", BPF_MAP_TYPE_ARRAY), ("max_entries", runtime::VARS_SLOTS), ("key_size", 4), ("value_size", 8)],
        )
    });
    let run_time_usdt = analysis
        .instances
        .iter()
        .any(|i| matches!(i.probe.process, Some(btc_bpfprog::ProcessTarget::Usdt { .. })));
    let usdt_specs = run_time_usdt.then(|| {
        use btc_bpfprog::usdt::{USDT_MAX_SITES, USDT_SPECS_MAP, USDT_SPEC_SIZE};
        const BPF_MAP_TYPE_HASH: u32 = 1;
        const BPF_F_NO_PREALLOC: u32 = 1;
        define_map(
            USDT_SPECS_MAP,
            &[
                ("type", BPF_MAP_TYPE_HASH),
                ("max_entries", USDT_MAX_SITES),
                ("map_flags", BPF_F_NO_PREALLOC),
                ("key_size", 4),
                ("value_size", USDT_SPEC_SIZE as u32),
            ],
        )
    });
    RuntimeMaps { vars, stacks, usdt_specs }
}

fn string_literal(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Str(s) => Some(s),
        _ => None,
    }
}

impl<'ctx> FnCx<'_, 'ctx> {
    /// `kstack`, `ustack`, `cpid` and `elapsed` used as builtins.
    pub(crate) fn runtime_builtin(&mut self, b: Builtin, e: &Expr) -> R<Val<'ctx>> {
        match b {
            Builtin::Kstack | Builtin::Ustack => self.stack(e),
            Builtin::Cpid => Ok(Val::Int(self.read_var(runtime::Var::Cpid)?)),
            Builtin::Elapsed => {
                let now = self.helper(helper::KTIME_GET_BOOT_NS, &[])?;
                let start = self.read_var(runtime::Var::StartNs)?;
                Ok(Val::Int(self.b.build_int_sub(now, start, "elapsed").map_err(llvm_err)?))
            }
            other => Err(llvm_err(format!("runtime builtin {other:?}"))),
        }
    }

    /// A call of a function the runtime serves.
    pub(crate) fn runtime_call(&mut self, e: &Expr, f: Runtime, args: &[Expr]) -> R<Val<'ctx>> {
        let name = Func::Runtime(f).name();
        match f {
            Runtime::Time => {
                let fmt = args.first().and_then(string_literal).unwrap_or(DEFAULT_TIME_FORMAT);
                let index = self.m.format_index(fmt, Ty::tuple(vec![]));
                let buf = self.event_buffer(0, ActionKind::Time, index)?;
                self.emit_event(buf, EVENT_HEADER_SIZE as u32)?;
                Ok(Val::Void)
            }
            Runtime::System => self.format_event(ActionKind::System, args),
            Runtime::Cat => self.format_event(ActionKind::Cat, args),
            Runtime::Join => self.join(args),
            Runtime::Signal => {
                let a = args.first().ok_or_else(|| llvm_err("signal"))?;
                let sig = match string_literal(a) {
                    Some(s) => self.u64c(u64::from(signal_number(s).unwrap_or(0))),
                    None => {
                        let v = self.expr(a)?;
                        self.as_int(v)?
                    }
                };
                self.helper(helper::SEND_SIGNAL, &[sig.into()])?;
                Ok(Val::Void)
            }
            Runtime::Unwatch => self.unwatch(args),
            Runtime::Override => {
                let a = args.first().ok_or_else(|| llvm_err("override"))?;
                let v = self.expr(a)?;
                let rc = self.as_int(v)?;
                self.helper(helper::OVERRIDE_RETURN, &[self.ctx_arg.into(), rc.into()])?;
                Ok(Val::Void)
            }
            Runtime::Strftime => {
                let a = args.get(1).ok_or_else(|| llvm_err("strftime"))?;
                self.record_ints(e, &[a])
            }
            Runtime::CgroupPath | Runtime::Strerror | Runtime::Ksym => {
                let a = args.first().ok_or_else(|| llvm_err(name))?;
                self.record_ints(e, &[a])
            }
            Runtime::Usym => {
                let a = args.first().ok_or_else(|| llvm_err(name))?;
                let v = self.expr(a)?;
                let addr = self.as_int(v)?;
                let pid = self.user_pid_word()?;
                self.record(e, &[addr, pid])
            }
            Runtime::Kstack | Runtime::Ustack => self.stack(e),
            Runtime::Buf => self.buf(e, args),
            Runtime::Ntop => self.ntop(args),
            Runtime::Pton => self.pton(e, args),
            Runtime::Macaddr => self.macaddr(args),
            Runtime::Path => {
                let a = args.first().ok_or_else(|| llvm_err("path"))?;
                // `path(ctx->file->f_path)`: a struct path is passed by its address.
                let v = if matches!(self.ty(a), Type::Struct(_)) { self.addr_of(a)? } else { self.expr(a)? };
                let p = self.as_int(v)?;
                let Type::Str { len } = self.ty(e) else { return Err(llvm_err("path type")) };
                let slot = self.alloca_bytes(len, "path")?;
                self.memset0(slot, len)?;
                let ptr = self.to_ptr(p)?;
                self.helper(helper::D_PATH, &[ptr.into(), slot.into(), self.u64c(u64::from(len)).into()])?;
                Ok(Val::Mem(slot))
            }
        }
    }

    fn to_ptr(&self, v: IntValue<'ctx>) -> R<PointerValue<'ctx>> {
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        self.b.build_int_to_ptr(v, ptr_ty, "p").map_err(llvm_err)
    }

    fn current_pid(&self) -> R<IntValue<'ctx>> {
        let r = self.helper(helper::GET_CURRENT_PID_TGID, &[])?;
        self.b.build_right_shift(r, self.u64c(32), false, "pid").map_err(llvm_err)
    }

    /// The second word of `usym` and `ustack` values: the PID and the probe that recorded it
    /// (see [`runtime::user_pid_word`]).
    pub(crate) fn user_pid_word(&self) -> R<IntValue<'ctx>> {
        let pid = self.current_pid()?;
        let probe = self.u64c(runtime::user_pid_word(0, self.m.probe_index));
        self.b.build_or(pid, probe, "pid_probe").map_err(llvm_err)
    }

    /// A value of `e`'s (runtime) type made of the given u64 fields.
    pub(crate) fn record(&mut self, e: &Expr, fields: &[IntValue<'ctx>]) -> R<Val<'ctx>> {
        let size = self.ty(e).layout().size();
        let slot = self.alloca_bytes(size, "rt")?;
        self.memset0(slot, size)?;
        for (i, f) in fields.iter().enumerate() {
            let p = self.offset(slot, 8 * u32::try_from(i).unwrap_or(0))?;
            self.store_i64(p, *f)?;
        }
        Ok(Val::Mem(slot))
    }

    /// Like [`Self::record`], evaluating the argument expressions as integers.
    fn record_ints(&mut self, e: &Expr, args: &[&Expr]) -> R<Val<'ctx>> {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            let v = self.expr(a)?;
            vals.push(self.as_int(v)?);
        }
        self.record(e, &vals)
    }

    /// Reads a slot of the runtime's variables map (0 when absent).
    pub(crate) fn read_var(&mut self, var: runtime::Var) -> R<IntValue<'ctx>> {
        let map = self.m.rt.vars.ok_or_else(|| llvm_err("no vars map"))?.as_pointer_value();
        let key = self.alloca_bytes(4, "var_key")?;
        self.b.build_store(key, self.m.context.i32_type().const_int(var as u64, false)).map_err(llvm_err)?;
        let r = self.helper(helper::MAP_LOOKUP_ELEM, &[map.into(), key.into()])?;
        let p = self.to_ptr(r)?;
        let out = self.alloca_bytes(8, "var")?;
        self.store_i64(out, self.i64(0))?;
        let found = self.new_block("var_found");
        let join = self.new_block("var_join");
        let is_null = self.b.build_is_null(p, "var_null").map_err(llvm_err)?;
        self.b.build_conditional_branch(is_null, join, found).map_err(llvm_err)?;
        self.b.position_at_end(found);
        let v = self.load_i64(p)?;
        self.store_i64(out, v)?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
        self.load_i64(out)
    }

    /// `kstack` / `ustack`: the stack id from bpf_get_stackid (and the PID for user stacks).
    fn stack(&mut self, e: &Expr) -> R<Val<'ctx>> {
        let (map, user) = match self.ty(e) {
            Type::Runtime(RuntimeTy::Kstack { map, .. }) => (map, false),
            Type::Runtime(RuntimeTy::Ustack { map, .. }) => (map, true),
            other => return Err(llvm_err(format!("stack of type {other}"))),
        };
        let g = *self.m.rt.stacks.get(&map).ok_or_else(|| llvm_err(format!("no stack map {map}")))?;
        let flags = self.u64c(if user { BPF_F_USER_STACK } else { 0 });
        let id = self.helper(helper::GET_STACKID, &[self.ctx_arg.into(), g.as_pointer_value().into(), flags.into()])?;
        // The helper returns a C `long`: keep negative errors negative in 64 bits.
        let id32 = self.b.build_int_truncate(id, self.m.context.i32_type(), "sid32").map_err(llvm_err)?;
        let id = self.b.build_int_s_extend(id32, self.m.context.i64_type(), "sid").map_err(llvm_err)?;
        if user {
            let pid = self.user_pid_word()?;
            self.record(e, &[id, pid])
        } else {
            self.record(e, &[id])
        }
    }

    /// `system` / `cat`: a printf-like event of `kind`.
    fn format_event(&mut self, kind: ActionKind, args: &[Expr]) -> R<Val<'ctx>> {
        let fmt = args.first().and_then(string_literal).ok_or_else(|| llvm_err("format"))?.to_string();
        let tys: Vec<Type> = args[1..].iter().map(|a| self.ty(a)).collect();
        let layout = Type::args_layout(&tys);
        let index = self.m.format_index(&fmt, layout.clone());
        let Ty::Tuple { fields, size } = layout else { return Err(llvm_err("format layout")) };
        let buf = self.event_buffer(size, kind, index)?;
        for ((a, t), f) in args[1..].iter().zip(&tys).zip(&fields) {
            let v = self.expr(a)?;
            let p = self.offset(buf, EVENT_HEADER_SIZE as u32 + f.offset)?;
            self.store_value(p, t, v, t)?;
        }
        self.emit_event(buf, EVENT_HEADER_SIZE as u32 + size)?;
        Ok(Val::Void)
    }

    /// `join(arr[, sep])`: reads up to [`JOIN_MAX_ARGS`] strings of a NULL-terminated array of
    /// pointers straight into a ring buffer record: [header][count][strings...].
    fn join(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let arr = args.first().ok_or_else(|| llvm_err("join"))?;
        let sep = args.get(1).and_then(string_literal).unwrap_or(" ").to_string();
        let user = matches!(self.ty(arr), Type::Ptr { user: true, .. });
        let v = self.expr(arr)?;
        let base = self.as_int(v)?;
        let mut tys = vec![Ty::U64];
        tys.extend((0..JOIN_MAX_ARGS).map(|_| Ty::Str { len: JOIN_ARG_SIZE }));
        let index = self.m.format_index(&sep, Ty::tuple(tys));
        let size = EVENT_HEADER_SIZE as u32 + 8 + JOIN_MAX_ARGS * JOIN_ARG_SIZE;
        let rb = self.m.ringbuf.as_pointer_value();
        let r = self.helper(helper::RINGBUF_RESERVE, &[rb.into(), self.u64c(u64::from(size)).into(), self.u64c(0).into()])?;
        let rec = self.to_ptr(r)?;
        let got = self.new_block("join_got");
        let none = self.new_block("join_none");
        let end = self.new_block("join_end");
        let is_null = self.b.build_is_null(rec, "join_null").map_err(llvm_err)?;
        self.b.build_conditional_branch(is_null, none, got).map_err(llvm_err)?;
        self.b.position_at_end(none);
        self.count_lost()?;
        self.b.build_unconditional_branch(end).map_err(llvm_err)?;

        self.b.position_at_end(got);
        let i32t = self.m.context.i32_type();
        self.b.build_store(rec, i32t.const_int(ActionKind::Join as u64, false)).map_err(llvm_err)?;
        let ip = self.offset(rec, 4)?;
        self.b.build_store(ip, i32t.const_int(u64::from(index), false)).map_err(llvm_err)?;
        let count_p = self.offset(rec, EVENT_HEADER_SIZE as u32)?;
        self.store_i64(count_p, self.i64(0))?;
        let ptr_slot = self.alloca_bytes(8, "join_ptr")?;
        let done = self.new_block("join_done");
        for i in 0..JOIN_MAX_ARGS {
            self.store_i64(ptr_slot, self.i64(0))?;
            let at = self.b.build_int_add(base, self.u64c(u64::from(8 * i)), "join_at").map_err(llvm_err)?;
            let at = self.to_ptr(at)?;
            let read = if user { helper::PROBE_READ_USER } else { helper::PROBE_READ_KERNEL };
            self.helper(read, &[ptr_slot.into(), self.u64c(8).into(), at.into()])?;
            let p = self.load_i64(ptr_slot)?;
            let is_end = self.b.build_int_compare(IntPredicate::EQ, p, self.i64(0), "join_end").map_err(llvm_err)?;
            let next = self.new_block("join_next");
            self.b.build_conditional_branch(is_end, done, next).map_err(llvm_err)?;
            self.b.position_at_end(next);
            let dst = self.offset(rec, EVENT_HEADER_SIZE as u32 + 8 + i * JOIN_ARG_SIZE)?;
            let src = self.to_ptr(p)?;
            let read_str = if user { helper::PROBE_READ_USER_STR } else { helper::PROBE_READ_KERNEL_STR };
            self.helper(read_str, &[dst.into(), self.u64c(u64::from(JOIN_ARG_SIZE)).into(), src.into()])?;
            self.store_i64(count_p, self.i64(i64::from(i) + 1))?;
        }
        self.b.build_unconditional_branch(done).map_err(llvm_err)?;
        self.b.position_at_end(done);
        self.helper(helper::RINGBUF_SUBMIT, &[rec.into(), self.u64c(0).into()])?;
        self.b.build_unconditional_branch(end).map_err(llvm_err)?;
        self.b.position_at_end(end);
        Ok(Val::Void)
    }

    /// Adds one to the lost-events counter.
    pub(crate) fn count_lost(&mut self) -> R<()> {
        self.bump_counter(self.m.lost.as_pointer_value(), 0)
    }

    /// Copies `n` raw bytes of an address-like argument (`char[N]` field of `args`, a pointer, a
    /// string or array value) to `dst`.
    fn bytes_of(&mut self, a: &Expr, n: u32, dst: PointerValue<'ctx>) -> R<()> {
        if let ExprKind::Field { expr: base, field, .. } | ExprKind::Arrow { expr: base, field, .. } = &a.kind {
            if let (ExprKind::Builtin(b), Type::Record(r)) = (&base.kind, self.ty(base)) {
                if b == "args" {
                    if let Some(f) = r.field(field).filter(|f| matches!(f.ty, Type::Array { .. } | Type::Str { .. })) {
                        let src = self.offset(self.ctx_arg, f.offset)?;
                        self.helper(helper::PROBE_READ_KERNEL, &[dst.into(), self.u64c(u64::from(n)).into(), src.into()])?;
                        return Ok(());
                    }
                }
            }
        }
        let t = self.ty(a);
        let v = self.expr(a)?;
        match (t, v) {
            (Type::Array { elem, .. }, Val::Mem(p)) => {
                // Arrays are laid out as in C: byte arrays copy as they are; wider elements
                // contribute their low byte.
                let esz = elem.c_size().max(1);
                if esz == 1 {
                    return self.memcpy(dst, p, n);
                }
                let i8t = self.m.context.i8_type();
                for i in 0..n {
                    let byte = self.b.build_load(i8t, self.offset(p, esz * i)?, "byte").map_err(llvm_err)?;
                    self.b.build_store(self.offset(dst, i)?, byte).map_err(llvm_err)?;
                }
                Ok(())
            }
            (_, Val::Mem(p)) => self.memcpy(dst, p, n),
            (t, Val::Int(addr)) => {
                // Integers (argN, retval, ...) in uprobes and USDT probes are user addresses.
            let user = matches!(t, Type::Ptr { user: true, .. }) || (t.is_int() && self.user_space_probe());
            let read = if user { helper::PROBE_READ_USER } else { helper::PROBE_READ_KERNEL };
                let src = self.to_ptr(addr)?;
                self.helper(read, &[dst.into(), self.u64c(u64::from(n)).into(), src.into()])?;
                Ok(())
            }
            (_, Val::Void) => Err(llvm_err("bytes of void")),
        }
    }

    /// `ntop([af,] addr)`: [family][16 address bytes].
    fn ntop(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let addr = args.last().ok_or_else(|| llvm_err("ntop"))?;
        let slot = self.alloca_bytes(24, "inet")?;
        self.memset0(slot, 24)?;
        let at = self.offset(slot, 8)?;
        let t = self.ty(addr);
        let width = match &t {
            Type::Array { count, .. } => *count,
            Type::Str { len } => *len,
            _ => 4,
        };
        let family = match args.first().filter(|_| args.len() == 2) {
            Some(af) => {
                let v = self.expr(af)?;
                self.as_int(v)?
            }
            None => self.u64c(if width == 16 { AF_INET6 } else { AF_INET }),
        };
        self.store_i64(slot, family)?;
        if t.is_int() {
            let v = self.expr(addr)?;
            let v = self.as_int(v)?;
            let v32 = self.b.build_int_truncate(v, self.m.context.i32_type(), "ip4").map_err(llvm_err)?;
            self.b.build_store(at, v32).map_err(llvm_err)?;
        } else {
            self.bytes_of(addr, width, at)?;
        }
        Ok(Val::Mem(slot))
    }

    /// `buf(p[, n])`: [length][bytes], the length bounded by the buffer size.
    fn buf(&mut self, e: &Expr, args: &[Expr]) -> R<Val<'ctx>> {
        let Type::Runtime(RuntimeTy::Buf { size }) = self.ty(e) else { return Err(llvm_err("buf type")) };
        let src = args.first().ok_or_else(|| llvm_err("buf"))?;
        let total = 8 + size.next_multiple_of(8);
        let slot = self.alloca_bytes(total, "buf")?;
        self.memset0(slot, total)?;
        let data = self.offset(slot, 8)?;
        let max = self.u64c(u64::from(size));
        let len = match args.get(1) {
            Some(l) => {
                let v = self.expr(l)?;
                let v = self.as_int(v)?;
                let small = self.b.build_int_compare(IntPredicate::ULT, v, max, "buf_lt").map_err(llvm_err)?;
                self.b.build_select(small, v, max, "buf_n").map_err(llvm_err)?.into_int_value()
            }
            None => max,
        };
        self.store_i64(slot, len)?;
        let t = self.ty(src);
        if matches!(t, Type::Ptr { .. } | Type::Int { .. }) {
            let v = self.expr(src)?;
            let p = self.as_int(v)?;
            let p = self.to_ptr(p)?;
            // Integers (argN, retval, ...) in uprobes and USDT probes are user addresses.
            let user = matches!(t, Type::Ptr { user: true, .. }) || (t.is_int() && self.user_space_probe());
            let read = if user { helper::PROBE_READ_USER } else { helper::PROBE_READ_KERNEL };
            self.helper(read, &[data.into(), len.into(), p.into()])?;
        } else if let Type::Array { .. } = &t {
            // An array's bytes as they are in memory (ints of any width), at most its own.
            let n = size.min(t.c_size());
            match self.expr(src)? {
                Val::Mem(p) => self.memcpy(data, p, n)?,
                _ => self.bytes_of(src, n, data)?,
            }
        } else {
            self.bytes_of(src, size, data)?;
        }
        Ok(Val::Mem(slot))
    }

    /// `pton("addr")`: the address bytes as an array value.
    fn pton(&mut self, e: &Expr, args: &[Expr]) -> R<Val<'ctx>> {
        let bytes = args.first().and_then(string_literal).and_then(pton).ok_or_else(|| llvm_err("pton"))?;
        let size = self.ty(e).layout().size();
        let slot = self.alloca_bytes(size, "pton")?;
        self.memset0(slot, size)?;
        // A uint8 array, laid out as in C: one byte per element.
        let i8t = self.m.context.i8_type();
        for (i, b) in bytes.iter().enumerate() {
            let p = self.offset(slot, u32::try_from(i).unwrap_or(0))?;
            self.b.build_store(p, i8t.const_int(u64::from(*b), false)).map_err(llvm_err)?;
        }
        Ok(Val::Mem(slot))
    }

    /// `macaddr(p)`: 6 bytes, padded to 8.
    fn macaddr(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let a = args.first().ok_or_else(|| llvm_err("macaddr"))?;
        let slot = self.alloca_bytes(8, "mac")?;
        self.memset0(slot, 8)?;
        self.bytes_of(a, 6, slot)?;
        Ok(Val::Mem(slot))
    }
}
