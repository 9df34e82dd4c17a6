//! Typing memory access: fields (`.`, `->`) through records and C structs, indexing, casts,
//! dereference, address-of, `sizeof`, `offsetof`, `kptr`/`uptr`, and pointer arithmetic.

use super::check::{int_type_named, Checker};
use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::types::{Origin, Record, RecordKind, StructRef, Type};
use std::rc::Rc;

/// The largest struct that can be copied by value: the size of the BPF stack.
const MAX_BY_VALUE: u32 = 512;

impl Checker<'_> {
    pub(crate) fn field(&mut self, e: &Expr, expr: &Expr, field: &str, field_span: Span) -> Type {
        let t = self.field_type(e, expr, field, field_span);
        self.in_address_space(e, t)
    }

    fn field_type(&mut self, _e: &Expr, expr: &Expr, field: &str, field_span: Span) -> Type {
        let t = self.access_base(expr);
        match t {
            Type::Record(r) => self.record_field(&r, field, field_span),
            Type::Struct(s) => self.struct_field(&s, field, field_span),
            Type::Tuple(elems) => match field.parse::<usize>().ok().and_then(|i| elems.get(i)) {
                Some(t) => t.clone(),
                None => {
                    self.err(field_span, format!("invalid tuple index .{field}: the tuple has {} elements", elems.len()));
                    Type::I64
                }
            },
            // bpftrace 0.26 reads a field through a pointer with `.` as with `->` (one level of
            // pointer only; bpftrace 0.20 refuses it, so no 0.20 script changes meaning).
            Type::Ptr { pointee, .. } if matches!(*pointee, Type::Struct(_)) => {
                let Type::Struct(s) = *pointee else { return Type::I64 };
                self.struct_field(&s, field, field_span)
            }
            Type::Ptr { ref pointee, .. } if matches!(&**pointee, Type::Ptr { pointee, .. } if matches!(**pointee, Type::Struct(_))) => {
                let d = Diagnostic::error(field_span, format!("can't access field '{field}' of a pointer to a pointer ({t})"))
                    .with_hint(format!("'.' reads through one pointer only: dereference the other first, '(*x).{field}'"));
                self.diags.push(d);
                Type::I64
            }
            other => {
                self.err(field_span, format!("can't access field '{field}' of a value of type {other}"));
                Type::I64
            }
        }
    }

    pub(crate) fn arrow(&mut self, e: &Expr, expr: &Expr, field: &str, field_span: Span) -> Type {
        let t = self.arrow_type(e, expr, field, field_span);
        self.in_address_space(e, t)
    }

    fn arrow_type(&mut self, e: &Expr, expr: &Expr, field: &str, field_span: Span) -> Type {
        let t = self.access_base(expr);
        match t {
            // `args->x` is accepted for `args.x`, as bpftrace does.
            Type::Record(r) if matches!(&expr.kind, ExprKind::Builtin(b) if b == "args") => {
                self.record_field(&r, field, field_span)
            }
            Type::Ptr { pointee, .. } => match *pointee {
                Type::Struct(s) => self.struct_field(&s, field, field_span),
                other => {
                    self.err(e.span, format!("'->' needs a pointer to a struct, found a pointer to {other}"));
                    Type::I64
                }
            },
            Type::Struct(_) => {
                let d = Diagnostic::error(e.span, format!("'->' on a value of type {t}, which is not a pointer"))
                    .with_hint(format!("use '.{field}' to access a field of a struct value"));
                self.diags.push(d);
                Type::I64
            }
            other => {
                self.err(e.span, format!("'->' needs a pointer to a struct, found {other}"));
                Type::I64
            }
        }
    }

    fn record_field(&mut self, r: &Record, field: &str, field_span: Span) -> Type {
        match r.field(field) {
            Some(f) => f.ty.clone(),
            None => {
                let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
                let msg = if r.name == "args" {
                    format!("{} has no argument named '{field}'", self.rp.name)
                } else {
                    format!("struct {} has no field named '{field}'", r.name)
                };
                let mut d = Diagnostic::error(field_span, msg);
                if let Some(s) = crate::suggest::nearest(field, &names) {
                    d = d.with_hint(format!("did you mean '{s}'?"));
                }
                self.diags.push(d);
                Type::I64
            }
        }
    }

    /// Resolves a struct's fields, reporting a struct that is declared but never defined.
    pub(crate) fn resolve_struct(&mut self, s: &StructRef, span: Span) -> Option<Rc<Record>> {
        match self.db.record(s) {
            Ok(r) => Some(r),
            Err(msg) => {
                self.err(span, msg);
                None
            }
        }
    }

    fn no_field(&mut self, s: &StructRef, r: &Record, field: &str, span: Span) {
        let mut names = Vec::new();
        r.visible_names(&mut names);
        let mut d = Diagnostic::error(span, format!("{} has no field named '{field}'", s.display_name()));
        if let Some(n) = crate::suggest::nearest(field, &names) {
            d = d.with_hint(format!("did you mean '{n}'?"));
        }
        self.diags.push(d);
    }

    fn struct_field(&mut self, s: &StructRef, field: &str, field_span: Span) -> Type {
        let Some(r) = self.resolve_struct(s, field_span) else { return Type::I64 };
        match r.field_path(field).and_then(|p| r.field_at(&p).map(|f| f.ty.clone())) {
            Some(t) => {
                // A struct-valued field may be copied whole (printed, stored): know its layout.
                if matches!(t, Type::Struct(_) | Type::Array { .. }) {
                    if let Err(m) = self.db.resolve_deep(&t) {
                        self.err(field_span, m);
                    }
                }
                t
            }
            None => {
                self.no_field(s, &r, field, field_span);
                Type::I64
            }
        }
    }

    pub(crate) fn index(&mut self, e: &Expr, expr: &Expr, index: &Expr) -> Type {
        let t = self.index_type(e, expr, index);
        self.in_address_space(e, t)
    }

    /// A pointer read from user memory points to user memory (bpftrace gives a field the
    /// address space of the struct it is read from), whatever its declaration says: the
    /// preamble's `struct s *next` read through a uprobe's pointer is a user pointer.
    fn in_address_space(&self, e: &Expr, t: Type) -> Type {
        match t {
            Type::Ptr { pointee, user: false } if self.is_user_memory(e) => Type::Ptr { pointee, user: true },
            t => t,
        }
    }

    fn index_type(&mut self, e: &Expr, expr: &Expr, index: &Expr) -> Type {
        let t = self.expr(expr);
        let it = self.expr(index);
        if !it.is_int() {
            self.err(index.span, format!("array index must be an integer, found {it}"));
        }
        match t {
            Type::Array { elem, count } => {
                // A zero-length (flexible) array member, `int y[0]`, has no bound to check.
                if let ExprKind::Int(i) = index.kind {
                    if count != 0 && i >= u64::from(count) {
                        self.err(index.span, format!("the index {i} is out of bounds for array of size {count}"));
                    }
                }
                *elem
            }
            Type::Ptr { pointee, .. } => match *pointee {
                Type::Void => {
                    self.err(e.span, "can't index a void pointer");
                    Type::I64
                }
                p => p,
            },
            other => {
                self.err(e.span, format!("can't index a value of type {other}"));
                Type::I64
            }
        }
    }

    /// The type a cast, `sizeof` or `offsetof` names, or None (reported) when it is unknown.
    pub(crate) fn named_type(&mut self, ty: &TypeName) -> Option<Type> {
        let base = match ty.keyword.as_deref() {
            Some(kw @ ("struct" | "union")) => {
                let kind = if kw == "union" { RecordKind::Union } else { RecordKind::Struct };
                // In a uprobe, the traced binary's own types come before the kernel's.
                let user = match (&self.rp.kind, self.db.c.record(Some(kind), &ty.name)) {
                    (btc_bpfprog::ProbeKind::Uprobe { path, .. }, None) => self.db.user_struct_named(path, kind, &ty.name),
                    _ => None,
                };
                user.or_else(|| self.db.struct_named(Some(kind), &ty.name))
            }
            Some("enum") => self.db.enum_named(&ty.name),
            _ => int_type_named(&ty.name).or_else(|| self.db.type_named(&ty.name)),
        };
        let Some(mut t) = base else {
            let kw = ty.keyword.as_deref().map(|k| format!("{k} ")).unwrap_or_default();
            let mut d = Diagnostic::error(ty.span, format!("unknown type: {kw}{}", ty.name));
            if let Some(n) = self.db.suggest_type(&ty.name) {
                d = d.with_hint(format!("did you mean '{n}'?"));
            } else if !self.db.has_kernel_btf() && ty.keyword.is_some() {
                d = d.with_hint("kernel BTF is not available: define the type in the preamble");
            }
            self.diags.push(d);
            return None;
        };
        if let Some(n) = ty.array {
            t = Type::Array { elem: Box::new(t), count: u32::try_from(n).unwrap_or(u32::MAX) };
        }
        for _ in 0..ty.pointers {
            t = Type::Ptr { pointee: Box::new(t), user: false };
        }
        Some(t)
    }

    /// True when pointers made from integers in this probe point to user memory.
    fn user_probe(&self) -> bool {
        matches!(self.rp.name.split(':').next(), Some("uprobe" | "uretprobe" | "usdt"))
    }

    pub(crate) fn cast(&mut self, e: &Expr, ty: &TypeName, expr: &Expr) -> Type {
        let t = self.expr(expr);
        let Some(target) = self.named_type(ty) else { return Type::I64 };
        match (&target, &t) {
            (Type::Int { .. }, src) if src.is_scalar() => target,
            // Integers and integer arrays of the same size convert both ways; `(uint8[]) x`
            // takes its length from x.
            (Type::Array { elem, count }, Type::Int { bits, .. }) if elem.is_int() => {
                let esz = elem.c_size().max(1);
                let size = u32::from(*bits / 8);
                let count = if *count == 0 { size / esz } else { *count };
                if count * esz != size {
                    self.err(e.span, format!("can't cast an integer of {size} bytes to {elem}[{count}]: the sizes differ"));
                }
                Type::Array { elem: elem.clone(), count }
            }
            (Type::Int { bits, .. }, Type::Array { elem, count }) if elem.is_int() => {
                if elem.c_size() * count != u32::from(*bits / 8) {
                    self.err(e.span, format!("can't cast {t} to {target}: the sizes differ"));
                }
                target
            }
            (Type::Ptr { pointee, .. }, Type::Ptr { user, .. }) => Type::Ptr { pointee: pointee.clone(), user: *user },
            (Type::Ptr { pointee, .. }, Type::Int { .. }) => Type::Ptr { pointee: pointee.clone(), user: self.user_probe() },
            (Type::Int { .. }, _) => {
                self.err(e.span, format!("can't cast a value of type {t} to an integer"));
                Type::I64
            }
            _ => {
                self.err(e.span, format!("can't cast a value of type {t} to {target}"));
                Type::I64
            }
        }
    }

    /// `*p`. A pointer read through a user pointer points to user memory (`**pp`, `(*pp)->f`).
    pub(crate) fn deref(&mut self, e: &Expr, t: &Type) -> Type {
        let r = self.deref_type(e, t);
        self.in_address_space(e, r)
    }

    fn deref_type(&mut self, e: &Expr, t: &Type) -> Type {
        match t {
            Type::Ptr { pointee, .. } => match &**pointee {
                Type::Void => {
                    self.err(e.span, "can't dereference a void pointer; cast it to a typed pointer first");
                    Type::I64
                }
                Type::Struct(s) => {
                    if let Err(m) = self.db.resolve_deep(pointee) {
                        self.err(e.span, format!("can't read {}: {m}", s.display_name()));
                    } else if s.size > MAX_BY_VALUE {
                        self.err(
                            e.span,
                            format!(
                                "{} is {} bytes: too large to copy onto the BPF stack ({MAX_BY_VALUE} bytes); read its fields with '->' instead",
                                s.display_name(),
                                s.size
                            ),
                        );
                    }
                    (**pointee).clone()
                }
                p => p.clone(),
            },
            // bpftrace reads a 64-bit value through an integer used as an address.
            Type::Int { .. } => Type::U64,
            other => {
                self.err(e.span, format!("can't dereference a value of type {other}"));
                Type::I64
            }
        }
    }

    pub(crate) fn addr_of(&mut self, e: &Expr, expr: &Expr, t: &Type) -> Type {
        let in_memory = match &expr.kind {
            ExprKind::Arrow { .. } | ExprKind::Index { .. } => true,
            ExprKind::Unary { op: UnaryOp::Deref, .. } => true,
            ExprKind::Field { expr: base, .. } => matches!(self.type_of(base), Some(Type::Struct(_) | Type::Ptr { .. })),
            _ => false,
        };
        if !in_memory {
            self.err(e.span, "'&' can only take the address of a struct field, an array element or a dereference");
            return Type::I64;
        }
        Type::Ptr { pointee: Box::new(t.clone()), user: self.is_user_memory(expr) }
    }

    fn type_of(&self, e: &Expr) -> Option<Type> {
        self.types.get(e.id.0 as usize).cloned().flatten()
    }

    /// True when an access expression reads user memory.
    fn is_user_memory(&self, e: &Expr) -> bool {
        match &e.kind {
            // A field read through a pointer with `.` (bpftrace 0.26) is in that pointer's space.
            ExprKind::Arrow { expr, .. }
            | ExprKind::Unary { expr, .. }
            | ExprKind::Index { expr, .. }
            | ExprKind::Field { expr, .. } => {
                matches!(self.type_of(expr), Some(Type::Ptr { user: true, .. })) || self.is_user_memory(expr)
            }
            _ => false,
        }
    }

    pub(crate) fn sizeof(&mut self, e: &Expr) -> Type {
        let value = match &e.kind {
            // `sizeof(NAME)` of a name that is an identifier rather than a type (an
            // enumerator, first, as bpftrace looks it up; or a builtin): the size of its value.
            ExprKind::SizeofType(ty) if self.sizeof_names_value(ty) => {
                let t = self.builtin(&ty.name, ty.span);
                Some(self.db.size_of(&t))
            }
            ExprKind::SizeofType(ty) => self.named_type(ty).map(|t| self.db.size_of(&t)),
            ExprKind::SizeofExpr(x) => {
                let t = self.expr(x);
                Some(self.db.size_of(&t))
            }
            ExprKind::Offsetof { ty, fields } => self.offsetof(e, ty, fields),
            _ => None,
        };
        if let Some(v) = value {
            self.consts.insert(e.id, u64::from(v));
        }
        Type::U64
    }

    /// Whether `sizeof(ty)` names a value: a bare name that is an enumerator, or a builtin
    /// that is not also a type name.
    fn sizeof_names_value(&self, ty: &TypeName) -> bool {
        if ty.keyword.is_some() || ty.pointers > 0 || ty.array.is_some() {
            return false;
        }
        if self.db.enum_value(&ty.name).is_some() {
            return true;
        }
        super::builtins::is_builtin_name(&ty.name)
            && int_type_named(&ty.name).is_none()
            && self.db.type_named(&ty.name).is_none()
    }

    fn offsetof(&mut self, e: &Expr, ty: &TypeName, fields: &[String]) -> Option<u32> {
        let mut t = self.named_type(ty)?;
        let mut total = 0u32;
        for f in fields {
            let Type::Struct(s) = &t else {
                self.err(e.span, format!("offsetof: {t} is not a struct"));
                return None;
            };
            let s = s.clone();
            let r = self.resolve_struct(&s, e.span)?;
            let Some(path) = r.field_path(f) else {
                self.no_field(&s, &r, f, e.span);
                return None;
            };
            total += r.path_offset(&path);
            t = r.field_at(&path)?.ty.clone();
        }
        Some(total)
    }

    /// `kptr(p)` / `uptr(p)`: the same pointer in the kernel or user address space.
    /// `kptr(p)`, `uptr(p)`.
    pub(crate) fn addr_space(&mut self, e: &Expr, f: crate::catalogue::AddrSpace, args: &[Expr]) -> Type {
        let name = Func::Addr(f).name();
        if args.len() != 1 {
            for a in args {
                self.expr(a);
            }
            self.err(e.span, format!("{name}() takes 1 argument, got {}", args.len()));
            return Type::I64;
        }
        let user = f == crate::catalogue::AddrSpace::Uptr;
        match self.expr(&args[0]) {
            Type::Ptr { pointee, .. } => Type::Ptr { pointee, user },
            Type::Int { .. } => Type::Ptr { pointee: Box::new(Type::I64), user },
            other => {
                self.err(args[0].span, format!("{name}() needs a pointer or an integer, found {other}"));
                Type::I64
            }
        }
    }

    /// The type `p op= v` leaves in a pointer slot of type `ptr`: the pointer itself when the
    /// operator moves it (`+=`, `-=` by an integer), else the slot's type with an error.
    pub(crate) fn pointer_compound(&mut self, target: &Expr, op: BinOp, ptr: &Type, v: &Type) -> Type {
        if !(matches!(op, BinOp::Add | BinOp::Sub) && v.is_int()) {
            self.err(target.span, format!("invalid operands to binary operator '{}': {ptr} and {v}", op.symbol()));
        }
        ptr.clone()
    }

    /// The type of `a op b` when an operand is a pointer, or None to type it as integers.
    pub(crate) fn pointer_binary(&mut self, e: &Expr, op: BinOp, a: &Type, b: &Type) -> Option<Type> {
        if !a.is_ptr() && !b.is_ptr() {
            return None;
        }
        match (op, a, b) {
            (BinOp::Add | BinOp::Sub, Type::Ptr { .. }, Type::Int { .. }) => Some(a.clone()),
            (BinOp::Add, Type::Int { .. }, Type::Ptr { .. }) => Some(b.clone()),
            (BinOp::Sub, Type::Ptr { .. }, Type::Ptr { .. }) => Some(Type::I64),
            (op, _, _) if op.is_comparison() || matches!(op, BinOp::And | BinOp::Or) => None,
            _ => {
                self.err(e.span, format!("invalid operands to binary operator '{}': {a} and {b}", op.symbol()));
                Some(Type::I64)
            }
        }
    }
}

impl Checker<'_> {
    /// `curtask`: a `struct task_struct *` when kernel BTF is available, else an integer.
    pub(crate) fn curtask_type(&mut self) -> Type {
        match self.db.struct_named(Some(RecordKind::Struct), "task_struct") {
            Some(t) => Type::kptr(t),
            None => Type::U64,
        }
    }

    /// An enumerator used as a constant; its value is recorded for codegen. bpftrace 0.20
    /// types every enumerator `uint64` (`@x = NEG` of `enum { NEG = -1 }` prints
    /// 18446744073709551615; comparisons with it are unsigned).
    pub(crate) fn enum_constant(&mut self, name: &str) -> Option<Type> {
        self.db.enum_value(name).map(|_| Type::U64)
    }

    /// Records the value of an identifier that `builtin` found to be an enumerator.
    pub(crate) fn record_enum_constant(&mut self, e: &Expr, name: &str) {
        if let Some(v) = self.db.known_enum_value(name) {
            self.consts.insert(e.id, v as u64);
        }
    }
}

impl Checker<'_> {
    /// The type of `ctx`, by the probe's program type as bpftrace 0.20 types it: a pointer to
    /// the struct the program's context is (`struct pt_regs` for kprobes, uprobes and USDT,
    /// `struct bpf_perf_event_data` for perf events, `struct bpf_iter__TARGET` for iterators).
    /// Accesses through it (and through casts of it to other struct pointers) are loads from
    /// the context.
    pub(crate) fn ctx_type(&mut self, span: Span) -> Type {
        use btc_bpfprog::ProbeKind as K;
        let name = match &self.rp.kind {
            K::Kprobe { .. } | K::Uprobe { .. } | K::Usdt { .. } => "pt_regs".to_string(),
            K::Interval { .. }
            | K::Profile { .. }
            | K::Software { .. }
            | K::Hardware { .. }
            | K::Watchpoint { .. }
            | K::WatchFunc { .. } => "bpf_perf_event_data".to_string(),
            K::Iter { target, .. } => format!("bpf_iter__{target}"),
            K::Tracepoint { .. } => {
                self.err(span, "Use args instead of ctx in tracepoint");
                return Type::I64;
            }
            K::Begin | K::End | K::RawTracepoint { .. } | K::Kfunc { .. } => {
                self.err(span, "invalid program type");
                return Type::I64;
            }
        };
        let pointee = self
            .db
            .struct_named(Some(RecordKind::Struct), &name)
            // Without kernel BTF the struct has no known fields; casts of ctx still work.
            .unwrap_or_else(|| Type::Struct(Rc::new(StructRef::new(RecordKind::Struct, &name, 0, Origin::C))));
        Type::kptr(pointee)
    }
}
