//! The catalogue: every function a script can call and every builtin it can name, as types.
//!
//! The parser resolves a call's name once ([`Func::from_name`], stored in
//! `ExprKind::Call::func`); the checker, the code generator and the passes before them match on
//! the resolved value, exhaustively within each group, so a function added here is a compile
//! error everywhere it still needs a rule. Builtins are resolved with [`Builtin::from_name`] where
//! an identifier is typed and generated (an identifier may also be a C enum constant).
//!
//! Where a new function's parts go, by group (see ARCHITECTURE.md):
//! - [`Core`]: `sema/calls.rs`, `codegen/calls.rs`;
//! - [`MapFn`]: `sema/calls_maps.rs`, `codegen/calls.rs` and `codegen/maps.rs`;
//! - [`Text`]: `sema/calls_strings.rs`, `codegen/calls.rs`;
//! - [`AddrSpace`]: `sema/access.rs`, `codegen/calls.rs`;
//! - [`Kernel`]: `sema/calls_builtins.rs`, `codegen/calls_builtins.rs`;
//! - [`Runtime`] (the runtime formats or performs them): `sema/calls_runtime.rs`,
//!   `codegen/calls_runtime.rs`, the value's `bpfprog::RuntimeTy` and `runtime/src/output/`;
//! - [`Const`] (replaced by values before checking): `sema/consteval.rs`;
//! - `Skboutput`, `Bswap`: their own `calls_skb.rs`, `calls_bswap.rs` on both sides.

/// A function call, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    Core(Core),
    Map(MapFn),
    Text(Text),
    Addr(AddrSpace),
    Kernel(Kernel),
    Runtime(Runtime),
    Const(Const),
    Skboutput,
    Bswap,
    /// Calls the passes before checking put in place of what they replace; no script names them.
    Internal(Internal),
}

/// Output and control: `printf`, `print`, `exit`, `reg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Core {
    Printf,
    Print,
    Exit,
    Reg,
}

/// Aggregations (`@m = count()`) and whole-map operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapFn {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Stats,
    Hist,
    Lhist,
    Delete,
    Clear,
    Zero,
    Len,
    /// `has_key(@m, key)`: whether the key is in the map, a bool (bpftrace 0.26).
    HasKey,
}

/// Strings read in the program: `str`, `strncmp`, `strcontains`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Text {
    Str,
    Strncmp,
    Strcontains,
}

/// Address-space annotations: `kptr`, `uptr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrSpace {
    Kptr,
    Uptr,
}

/// Helpers the program calls itself: `nsecs(mode)`, `debugf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Nsecs,
    Debugf,
}

/// Functions whose value the runtime formats, or whose effect it performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    Time,
    Strftime,
    System,
    Cat,
    Join,
    Signal,
    Override,
    Ntop,
    Pton,
    Macaddr,
    CgroupPath,
    Strerror,
    Path,
    Ksym,
    Usym,
    Kstack,
    Ustack,
    Buf,
    Unwatch,
}

/// Functions of compile-time (or load-time) constants: `kaddr`, `uaddr`, `cgroupid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Const {
    Kaddr,
    Uaddr,
    Cgroupid,
}

/// What the passes before checking substitute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Internal {
    /// A value the loader patches in (`kaddr`, `cgroupid` of an object): `(slot)`, a u64.
    LoadValue,
    /// A positional parameter as an integer: `(index)`.
    ParamInt,
    /// A positional parameter as a string: `(offset, length)`.
    ParamStr,
}

/// Every function a script can name, by its name.
const FUNCTIONS: &[(&str, Func)] = &[
    ("printf", Func::Core(Core::Printf)),
    ("print", Func::Core(Core::Print)),
    ("exit", Func::Core(Core::Exit)),
    ("reg", Func::Core(Core::Reg)),
    ("count", Func::Map(MapFn::Count)),
    ("sum", Func::Map(MapFn::Sum)),
    ("min", Func::Map(MapFn::Min)),
    ("max", Func::Map(MapFn::Max)),
    ("avg", Func::Map(MapFn::Avg)),
    ("stats", Func::Map(MapFn::Stats)),
    ("hist", Func::Map(MapFn::Hist)),
    ("lhist", Func::Map(MapFn::Lhist)),
    ("delete", Func::Map(MapFn::Delete)),
    ("clear", Func::Map(MapFn::Clear)),
    ("zero", Func::Map(MapFn::Zero)),
    ("len", Func::Map(MapFn::Len)),
    ("has_key", Func::Map(MapFn::HasKey)),
    ("str", Func::Text(Text::Str)),
    ("strncmp", Func::Text(Text::Strncmp)),
    ("strcontains", Func::Text(Text::Strcontains)),
    ("kptr", Func::Addr(AddrSpace::Kptr)),
    ("uptr", Func::Addr(AddrSpace::Uptr)),
    ("nsecs", Func::Kernel(Kernel::Nsecs)),
    ("debugf", Func::Kernel(Kernel::Debugf)),
    ("time", Func::Runtime(Runtime::Time)),
    ("strftime", Func::Runtime(Runtime::Strftime)),
    ("system", Func::Runtime(Runtime::System)),
    ("cat", Func::Runtime(Runtime::Cat)),
    ("join", Func::Runtime(Runtime::Join)),
    ("signal", Func::Runtime(Runtime::Signal)),
    ("override", Func::Runtime(Runtime::Override)),
    ("ntop", Func::Runtime(Runtime::Ntop)),
    ("pton", Func::Runtime(Runtime::Pton)),
    ("macaddr", Func::Runtime(Runtime::Macaddr)),
    ("cgroup_path", Func::Runtime(Runtime::CgroupPath)),
    ("strerror", Func::Runtime(Runtime::Strerror)),
    ("path", Func::Runtime(Runtime::Path)),
    ("ksym", Func::Runtime(Runtime::Ksym)),
    ("usym", Func::Runtime(Runtime::Usym)),
    ("kstack", Func::Runtime(Runtime::Kstack)),
    ("ustack", Func::Runtime(Runtime::Ustack)),
    ("buf", Func::Runtime(Runtime::Buf)),
    ("unwatch", Func::Runtime(Runtime::Unwatch)),
    ("kaddr", Func::Const(Const::Kaddr)),
    ("uaddr", Func::Const(Const::Uaddr)),
    ("cgroupid", Func::Const(Const::Cgroupid)),
    ("skboutput", Func::Skboutput),
    ("bswap", Func::Bswap),
];

/// The internal functions' names, as `--emit=ast` shows them.
const INTERNAL: &[(&str, Internal)] =
    &[("$load", Internal::LoadValue), ("$param", Internal::ParamInt), ("$param_str", Internal::ParamStr)];

/// Functions of bpftrace that btc doesn't have: named in the error instead of "unknown".
pub const NOT_IMPLEMENTED: &[&str] = &["percpu_kaddr"];

impl Func {
    /// The function a script means by `name`; `None` for names no script can call.
    pub fn from_name(name: &str) -> Option<Func> {
        FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The name a script calls it by (internal functions: the name `--emit=ast` shows).
    pub fn name(self) -> &'static str {
        if let Func::Internal(i) = self {
            return INTERNAL.iter().find(|(_, f)| *f == i).map_or("$internal", |(n, _)| n);
        }
        FUNCTIONS.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }

    /// Every name a script can call, for "did you mean" hints.
    pub fn names() -> impl Iterator<Item = &'static str> {
        FUNCTIONS.iter().map(|(n, _)| *n)
    }

    /// Functions bpftrace allows only with `--unsafe`.
    pub fn is_unsafe(self) -> bool {
        matches!(self, Func::Runtime(Runtime::System | Runtime::Signal | Runtime::Override))
    }
}

/// A builtin identifier, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    Pid,
    Tid,
    Uid,
    Gid,
    Nsecs,
    Elapsed,
    Cpu,
    Comm,
    Kstack,
    Ustack,
    /// `arg0`..`argN`.
    Arg(u32),
    /// `sarg0`..`sargN`: stack arguments.
    Sarg(u32),
    Retval,
    Func,
    Probe,
    Curtask,
    Rand,
    Cgroup,
    Cpid,
    Numaid,
    Args,
    Ctx,
    Jiffies,
    Username,
}

const BUILTINS: &[(&str, Builtin)] = &[
    ("pid", Builtin::Pid),
    ("tid", Builtin::Tid),
    ("uid", Builtin::Uid),
    ("gid", Builtin::Gid),
    ("nsecs", Builtin::Nsecs),
    ("elapsed", Builtin::Elapsed),
    ("cpu", Builtin::Cpu),
    ("comm", Builtin::Comm),
    ("kstack", Builtin::Kstack),
    ("ustack", Builtin::Ustack),
    ("retval", Builtin::Retval),
    ("func", Builtin::Func),
    ("probe", Builtin::Probe),
    ("curtask", Builtin::Curtask),
    ("rand", Builtin::Rand),
    ("cgroup", Builtin::Cgroup),
    ("cpid", Builtin::Cpid),
    ("numaid", Builtin::Numaid),
    ("args", Builtin::Args),
    ("ctx", Builtin::Ctx),
    ("jiffies", Builtin::Jiffies),
    ("username", Builtin::Username),
];

impl Builtin {
    /// The builtin `name` denotes, if any (`arg3`, `sarg0` included).
    pub fn from_name(name: &str) -> Option<Builtin> {
        if let Some(b) = BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b) {
            return Some(b);
        }
        let numbered = |prefix: &str| {
            let digits = name.strip_prefix(prefix)?;
            let digits_only = !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit());
            if digits_only { digits.parse().ok() } else { None }
        };
        numbered("arg").map(Builtin::Arg).or_else(|| numbered("sarg").map(Builtin::Sarg))
    }

    /// Names for "did you mean" hints (one of each numbered family).
    pub fn names() -> impl Iterator<Item = &'static str> {
        BUILTINS.iter().map(|(n, _)| *n).chain(["arg0", "arg1", "sarg0"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_name_resolves_to_itself() {
        for name in Func::names() {
            let f = Func::from_name(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(f.name(), name);
        }
        for (name, i) in INTERNAL {
            assert_eq!(Func::Internal(*i).name(), *name);
            assert_eq!(Func::from_name(name), None, "scripts can't call {name}");
        }
        for name in NOT_IMPLEMENTED {
            assert_eq!(Func::from_name(name), None);
        }
    }

    #[test]
    fn numbered_builtins() {
        assert_eq!(Builtin::from_name("arg0"), Some(Builtin::Arg(0)));
        assert_eq!(Builtin::from_name("arg12"), Some(Builtin::Arg(12)));
        assert_eq!(Builtin::from_name("sarg1"), Some(Builtin::Sarg(1)));
        assert_eq!(Builtin::from_name("arg"), None);
        assert_eq!(Builtin::from_name("arg01"), Some(Builtin::Arg(1)));
        assert_eq!(Builtin::from_name("argx"), None);
        assert_eq!(Builtin::from_name("comm"), Some(Builtin::Comm));
    }
}
