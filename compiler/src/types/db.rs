//! The type database of one compilation: named types from the script's C preamble (and the
//! headers it includes), from kernel BTF (vmlinux, then module BTF), looked up lazily through the
//! [`TypeSource`].

use super::btf::{Btf, Kind};
use super::cdecl::CTypes;
use super::{Origin, Record, RecordField, RecordKind, StructRef, Type, TypeSource};
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// An `args` record of parameters at the offsets `offset(i)` gives.
fn slots(params: impl Iterator<Item = (String, Type)>, offset: impl Fn(u32) -> u32) -> Record {
    let fields: Vec<RecordField> =
        params.enumerate().map(|(i, (n, t))| RecordField::new(n, offset(u32::try_from(i).unwrap_or(0)), t)).collect();
    let size = fields.iter().map(|f| f.offset + 8).max().unwrap_or(0);
    Record { name: "args".into(), fields, size }
}

/// Named types for the checker. Kernel BTF is read on first use only.
pub struct TypeDb<'a> {
    source: &'a dyn TypeSource,
    /// The script's own definitions; they win over the kernel's.
    pub c: CTypes,
    /// Blob 0 is vmlinux; modules follow in the order they were loaded.
    btfs: RefCell<Vec<Rc<Btf>>>,
    vmlinux: OnceCell<Result<(), String>>,
    modules_loaded: OnceCell<()>,
    /// Identifiers looked up as enumerators, and what they were.
    enum_cache: RefCell<HashMap<String, Option<i64>>>,
    /// User binaries read for DWARF, by path, and the index of their functions.
    binaries: RefCell<HashMap<String, Rc<Vec<u8>>>>,
    dwarf_indexes: RefCell<HashMap<String, Rc<Result<super::dwarf::DwarfIndex, String>>>>,
}

impl<'a> TypeDb<'a> {
    pub fn new(source: &'a dyn TypeSource, c: CTypes) -> TypeDb<'a> {
        TypeDb {
            source,
            c,
            btfs: RefCell::new(Vec::new()),
            vmlinux: OnceCell::new(),
            modules_loaded: OnceCell::new(),
            enum_cache: RefCell::new(HashMap::new()),
            binaries: RefCell::new(HashMap::new()),
            dwarf_indexes: RefCell::new(HashMap::new()),
        }
    }

    /// A database with no C definitions.
    pub fn kernel_only(source: &'a dyn TypeSource) -> TypeDb<'a> {
        TypeDb::new(source, CTypes::default())
    }

    pub fn source(&self) -> &'a dyn TypeSource {
        self.source
    }

    /// Loads vmlinux BTF once; Err says why it isn't available.
    pub fn kernel_btf(&self) -> Result<Rc<Btf>, String> {
        let loaded = self.vmlinux.get_or_init(|| {
            let bytes = self.source.kernel_btf_bytes(None)?;
            let read = |e| format!("can't read kernel BTF: {e}");
            // With the index an earlier run kept, nothing of vmlinux is walked or searched;
            // without one (or with one that doesn't fit), one is kept for the next runs.
            let (btf, indexed) = match self.source.stored_btf_index() {
                Some(index) => Btf::parse_indexed(bytes, index).map_err(read)?,
                None => (Btf::parse(bytes, None).map_err(read)?, false),
            };
            if !indexed {
                self.source.store_btf_index(&|| btf.index_bytes());
            }
            self.btfs.borrow_mut().insert(0, Rc::new(btf));
            Ok(())
        });
        match loaded {
            Ok(()) => self.btfs.borrow().first().cloned().ok_or_else(|| "kernel BTF is not available".to_string()),
            Err(e) => Err(e.clone()),
        }
    }

    /// True when kernel BTF can be read.
    pub fn has_kernel_btf(&self) -> bool {
        self.kernel_btf().is_ok()
    }

    fn blob(&self, i: u32) -> Option<Rc<Btf>> {
        self.btfs.borrow().get(i as usize).cloned()
    }

    /// Loads the BTF of every module (once), for names vmlinux lacks.
    fn load_modules(&self) {
        self.modules_loaded.get_or_init(|| {
            let Ok(base) = self.kernel_btf() else { return };
            for m in self.source.btf_modules() {
                let Ok(bytes) = self.source.kernel_btf_bytes(Some(&m)) else { continue };
                if let Ok(b) = Btf::parse(bytes, Some(base.clone())) {
                    self.btfs.borrow_mut().push(Rc::new(b));
                }
            }
        });
    }

    /// Finds a kernel type by name in vmlinux, then in modules: (blob, id).
    fn find_kernel(&self, name: &str, kinds: &[Kind]) -> Option<(u32, u32)> {
        let base = self.kernel_btf().ok()?;
        let mut fwd = None;
        if let Some(id) = base.find(name, kinds) {
            if base.get(id).is_some_and(|t| t.kind != Kind::Fwd) {
                return Some((0, id));
            }
            fwd = Some((0, id));
        }
        self.load_modules();
        let n = self.btfs.borrow().len();
        for i in 1..n {
            let Some(b) = self.blob(i as u32) else { continue };
            if let Some(id) = b.find(name, kinds) {
                if b.get(id).is_some_and(|t| t.kind != Kind::Fwd) {
                    return Some((i as u32, id));
                }
                fwd.get_or_insert((i as u32, id));
            }
        }
        fwd
    }

    /// `struct NAME` / `union NAME` (kind None: either), from the preamble or the kernel.
    pub fn struct_named(&self, kind: Option<RecordKind>, name: &str) -> Option<Type> {
        if let Some(s) = self.c.record(kind, name) {
            return Some(Type::Struct(s));
        }
        let kinds: &[Kind] = match kind {
            Some(RecordKind::Struct) => &[Kind::Struct, Kind::Fwd],
            Some(RecordKind::Union) => &[Kind::Union, Kind::Fwd],
            None => &[Kind::Struct, Kind::Union, Kind::Fwd],
        };
        let (blob, id) = self.find_kernel(name, kinds)?;
        Some(self.blob(blob)?.to_type(id, blob))
    }

    /// A type named without a keyword: a typedef or enum of the preamble, C's base types, or a
    /// kernel typedef (`u32`, `pid_t`, `struct_name_t`).
    pub fn type_named(&self, name: &str) -> Option<Type> {
        if let Some(t) = self.c.typedef(name) {
            return Some(t);
        }
        if let Some(t) = super::cdecl::base_type(name) {
            return Some(t);
        }
        let (blob, id) = self.find_kernel(name, &[Kind::Typedef, Kind::Int])?;
        Some(self.blob(blob)?.to_type(id, blob))
    }

    /// `enum NAME` as an integer type.
    pub fn enum_named(&self, name: &str) -> Option<Type> {
        if let Some(t) = self.c.enum_type(name) {
            return Some(t);
        }
        let (blob, id) = self.find_kernel(name, &[Kind::Enum, Kind::Enum64])?;
        Some(self.blob(blob)?.to_type(id, blob))
    }

    /// The fields of a struct, resolving them on first use. Err when the struct is only
    /// declared (no definition anywhere).
    pub fn record(&self, s: &StructRef) -> Result<Rc<Record>, String> {
        if let Some(r) = s.record() {
            return Ok(r.clone());
        }
        let record = match s.origin {
            Origin::Btf { blob, id } => {
                let btf = self.blob(blob).ok_or("BTF blob not loaded")?;
                let full = btf.get(id).is_some_and(|t| t.kind != Kind::Fwd);
                let r = if full { btf.record(id, blob) } else { None };
                match r {
                    Some(r) => Some(r),
                    None => self.definition_of(s),
                }
            }
            Origin::C | Origin::Dwarf => self.definition_of(s),
        };
        let record = record.ok_or_else(|| format!("{} is declared but not defined", s.display_name()))?;
        let rc = Rc::new(record);
        let _ = s.resolved.set(rc.clone());
        Ok(rc)
    }

    /// The definition of a forward-declared struct, found by name.
    fn definition_of(&self, s: &StructRef) -> Option<Record> {
        if s.name.is_empty() {
            return None;
        }
        if let Some(c) = self.c.record(Some(s.kind), &s.name) {
            if let Some(r) = c.record() {
                return Some((**r).clone());
            }
        }
        let kind = if s.kind == RecordKind::Union { Kind::Union } else { Kind::Struct };
        let (blob, id) = self.find_kernel(&s.name, &[kind])?;
        let btf = self.blob(blob)?;
        if btf.get(id)?.kind == Kind::Fwd {
            return None;
        }
        btf.record(id, blob)
    }

    /// The name closest to `name` among the preamble's types and, when kernel BTF is loaded,
    /// the kernel's structs and unions (for "did you mean").
    pub fn suggest_type(&self, name: &str) -> Option<String> {
        let c = self.c.names();
        let mut candidates: Vec<&str> = c.iter().map(String::as_str).collect();
        let btf = self.kernel_btf().ok();
        // Only names of a plausible length: the edit distance is computed for each.
        let max = name.len() / 3 + 1;
        if let Some(b) = &btf {
            candidates.extend(b.names_of(&[Kind::Struct, Kind::Union, Kind::Typedef]).filter(|n| n.len().abs_diff(name.len()) <= max));
        }
        crate::suggest::nearest(name, &candidates).map(str::to_string)
    }

    /// The size of a struct, looking up the definition of a forward declaration.
    pub fn size_of(&self, t: &Type) -> u32 {
        match t {
            Type::Struct(s) if s.size == 0 => self.record(s).map(|r| r.size).unwrap_or(0),
            other => other.c_size(),
        }
    }

    /// The alignment of a type in C, resolving the structs it holds by value.
    pub fn align_of(&self, t: &Type) -> u32 {
        self.align_depth(t, 0)
    }

    fn align_depth(&self, t: &Type, depth: u32) -> u32 {
        match t {
            Type::Struct(s) if depth < 32 => match self.record(s) {
                Ok(r) => r.fields.iter().map(|f| self.align_depth(&f.ty, depth + 1)).max().unwrap_or(1).min(8),
                Err(_) => 1,
            },
            Type::Array { elem, .. } => self.align_depth(elem, depth + 1),
            other => other.c_align(),
        }
    }

    /// Resolves every struct reachable by value (not through pointers) from `t`, so its layout
    /// is known for copying it into a map or an event.
    pub fn resolve_deep(&self, t: &Type) -> Result<(), String> {
        self.resolve_depth(t, 0)
    }

    fn resolve_depth(&self, t: &Type, depth: u32) -> Result<(), String> {
        if depth > 32 {
            return Err("structs are nested too deeply".into());
        }
        match t {
            Type::Struct(s) => {
                let r = self.record(s)?;
                for f in &r.fields {
                    self.resolve_depth(&f.ty, depth + 1)?;
                }
                Ok(())
            }
            Type::Array { elem, .. } => self.resolve_depth(elem, depth + 1),
            Type::Tuple(ts) => ts.iter().try_for_each(|t| self.resolve_depth(t, depth + 1)),
            _ => Ok(()),
        }
    }

    /// Parameters and return type of a kernel function (kfunc `args`), from BTF.
    pub fn kernel_function(&self, name: &str) -> Option<(Vec<(String, Type)>, Type)> {
        let (blob, _) = self.find_kernel(name, &[Kind::Func])?;
        self.blob(blob)?.function(name, blob)
    }

    /// The typed parameters of `function` in the user binary at `path`, from its DWARF (for
    /// uprobe `args`); Err says why there are none.
    pub fn uprobe_args(&self, path: &str, function: &str) -> Result<super::dwarf::FunctionArgs, String> {
        let binary = self.binary(path)?;
        let cached = self.dwarf_indexes.borrow().get(path).cloned();
        let index = match cached {
            Some(i) => i,
            None => {
                let i = Rc::new(super::dwarf::index(&binary));
                self.dwarf_indexes.borrow_mut().insert(path.to_string(), i.clone());
                i
            }
        };
        match &*index {
            Ok(idx) => super::dwarf::function_args(&binary, idx, function),
            Err(e) => Err(e.clone()),
        }
    }

    /// `struct NAME` from the DWARF of the user binary at `path` (the one a uprobe traces).
    pub fn user_struct_named(&self, path: &str, kind: RecordKind, name: &str) -> Option<Type> {
        super::dwarf::struct_named(&self.binary(path).ok()?, kind, name).ok().flatten()
    }

    fn binary(&self, path: &str) -> Result<Rc<Vec<u8>>, String> {
        if let Some(b) = self.binaries.borrow().get(path) {
            return Ok(b.clone());
        }
        let b = Rc::new(self.source.binary(path)?);
        self.binaries.borrow_mut().insert(path.to_string(), b.clone());
        Ok(b)
    }

    /// The typed `args` of a kfunc/kretfunc probe: the function's BTF parameters, argument `i`
    /// at offset `8 * i` (the slots of the fentry/fexit context).
    pub fn kfunc_args(&self, function: &str) -> Option<Rc<Record>> {
        let (params, _) = self.kernel_function(function)?;
        Some(Rc::new(slots(params.into_iter(), |i| 8 * i)))
    }

    /// The return type of a kernel function (kretfunc `retval`).
    pub fn kfunc_return(&self, function: &str) -> Option<Type> {
        self.kernel_function(function).map(|(_, r)| r)
    }

    /// The typed `args` of a raw tracepoint: the parameters of BTF's `btf_trace_NAME` after its
    /// leading `void *`, named `arg0`.., argument `i` at offset `8 * i` of the raw context.
    pub fn rawtracepoint_args(&self, name: &str) -> Option<Rc<Record>> {
        let typedef = format!("btf_trace_{name}");
        let (blob, _) = self.find_kernel(&typedef, &[Kind::Typedef])?;
        let params = self.blob(blob)?.typedef_params(&typedef, blob)?;
        let params = params.into_iter().skip(1).enumerate().map(|(i, (_, t))| (format!("arg{i}"), t));
        Some(Rc::new(slots(params, |i| 8 * i)))
    }

    /// The typed `args` of a uprobe from the binary's DWARF: parameter `i` at `reg_offsets[i]`
    /// (where the probe's context holds the register that passes it); parameters passed on the
    /// stack (past the registers) are left out.
    pub fn uprobe_args_record(&self, path: &str, function: &str, reg_offsets: &[u32]) -> Result<Rc<Record>, String> {
        let args = self.uprobe_args(path, function)?;
        let n = args.params.len().min(reg_offsets.len());
        let params = args.params.into_iter().take(n);
        Ok(Rc::new(slots(params, |i| reg_offsets.get(i as usize).copied().unwrap_or(0))))
    }

    /// The type of `ctx` in an `iter:TARGET` probe: `struct bpf_iter__TARGET *`.
    pub fn iter_ctx(&self, target: &str) -> Option<Type> {
        self.struct_named(Some(RecordKind::Struct), &format!("bpf_iter__{target}")).map(Type::kptr)
    }

    /// The value of an enumerator of the preamble, or of a kernel enum (as bpftrace resolves
    /// `SKB_DROP_REASON_NOT_SPECIFIED`).
    pub fn enum_value(&self, name: &str) -> Option<i64> {
        if let Some(v) = self.enum_cache.borrow().get(name) {
            return *v;
        }
        let v = self.c.enum_value(name).or_else(|| self.kernel_btf().ok().and_then(|b| b.enumerator(name)));
        self.enum_cache.borrow_mut().insert(name.to_string(), v);
        v
    }

    /// An enumerator's value if [`TypeDb::enum_value`] found it before (no lookup). Only
    /// identifiers that name nothing else are looked up, so a builtin never shows up here.
    pub fn known_enum_value(&self, name: &str) -> Option<i64> {
        self.enum_cache.borrow().get(name).copied().flatten()
    }
}

#[cfg(test)]
mod tests;
