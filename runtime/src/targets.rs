//! What can be traced on this system: ELF function symbols, USDT notes, library lookup through
//! ld.so.cache, bpftrace's rules for the files a uprobe/usdt target names (`binaries.rs`),
//! kernel functions (available_filter_functions or kallsyms, BTF), and `btc list`. Used by the
//! CLI (to give the compiler what it needs) and by the runtime when it attaches.

pub mod binaries;
pub mod elf;
pub mod kfuncs;
pub mod list;
pub mod paths;
pub mod usdt;
