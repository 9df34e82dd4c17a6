//! What the system offers to trace, as the [`super::TypeSource`] reports it: traceable kernel
//! functions, function symbols and USDT notes of user binaries. The compiler only sees these
//! plain records; reading them from the system is the CLI's (and runtime's) business.

/// A kernel function (from available_filter_functions, or BTF for kfuncs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelFunction {
    /// The module that defines it; `None` for vmlinux.
    pub module: Option<String>,
    pub name: String,
}

/// A function symbol of an ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfFunction {
    /// The symbol name as stored (mangled for C++).
    pub name: String,
    /// The demangled name, when `name` is a mangled C++ name.
    pub demangled: Option<String>,
    /// Virtual address.
    pub address: u64,
    pub size: u64,
}

/// One site of a USDT probe (a `.note.stapsdt` note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtNote {
    pub provider: String,
    pub name: String,
    /// Virtual address of the probe site (already adjusted for prelinking).
    pub address: u64,
    /// Virtual address of the semaphore, 0 when the probe has none.
    pub semaphore: u64,
    /// The argument specification, e.g. `-4@%eax 8@-8(%rbp)`.
    pub args: String,
}
