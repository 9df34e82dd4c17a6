//! Turning runtime-formatted values (symbols, stacks, addresses, timestamps, ...) into the text
//! bpftrace prints for them.
//!
//! Pure: symbol lookups go through [`Symbolize`] and stack reads through [`StackSource`], which
//! the session implements over blazesym and the kernel, and tests over fakes.

use crate::strftime;
use crate::value::{le_u64, Value};
use btc_bpfprog::runtime::split_user_pid_word;
use btc_bpfprog::{RuntimeTy, StackMode};
use std::cell::RefCell;

/// A symbol an address resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sym {
    pub name: String,
    /// Offset of the address from the start of the symbol.
    pub offset: u64,
    /// The file the symbol is from (user symbols).
    pub module: Option<String>,
}

/// Address-to-name lookups (blazesym in production).
pub trait Symbolize {
    /// The kernel function containing `addr`.
    fn kernel(&mut self, addr: u64) -> Option<Sym>;
    /// The function containing `addr` in process `pid`.
    fn user(&mut self, pid: u32, addr: u64) -> Option<Sym>;
    /// The paths of cgroup `id`, as `hierarchy:path` joined by commas.
    fn cgroup_path(&mut self, id: u64, filter: Option<&str>) -> String;
    /// The function containing `addr` in the ELF file `path` of a process that recorded it
    /// (`path` is its probe's binary), when the process's memory map can't be had any more.
    fn user_in_file(&mut self, path: &str, addr: u64) -> Option<Sym> {
        let _ = (path, addr);
        None
    }
    /// The name of user `uid` (`username`); empty when unknown.
    fn username(&mut self, uid: u32) -> String {
        let _ = uid;
        String::new()
    }
}

/// The name /etc/passwd (`text`) gives user `uid`: the first field of the first line whose
/// third field is the id.
pub fn passwd_name(text: &str, uid: u32) -> Option<&str> {
    let id = uid.to_string();
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let (name, _pw, u) = (f.next()?, f.next()?, f.next()?);
        (u == id).then_some(name)
    })
}

/// Reads the frames of a stack id (the kernel's stack trace maps in production).
pub trait StackSource {
    /// The frame addresses of stack `id` in map `map` (trailing zeros allowed).
    fn stack(&self, map: &str, id: u32) -> Option<Vec<u64>>;
}

/// Where a value is printed: stacks are indented by 4 in map keys and by 8 elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Key,
    Value,
}

/// Resolves runtime values. Interior mutability: symbol caches fill while printing.
/// The buffer strftime() formats into. bpftrace 0.20 uses BPFTRACE_STRLEN bytes; btc allows
/// longer texts.
const STRFTIME_LIMIT: usize = 1024;

pub struct Resolver {
    symbols: RefCell<Box<dyn Symbolize>>,
    /// CLOCK_REALTIME minus CLOCK_BOOTTIME, in nanoseconds: turns `nsecs` into wall time.
    boot_to_wall_ns: i128,
    /// The binary of each probe (by index in the metadata) that has one: user symbols and stacks
    /// record their probe, whose binary stands in for a process that exited.
    probe_binaries: Vec<Option<String>>,
    /// The names of the sites found when the object runs, by BPF cookie.
    site_names: Vec<String>,
}

impl Resolver {
    pub fn new(symbols: Box<dyn Symbolize>, boot_to_wall_ns: i128) -> Resolver {
        Resolver { symbols: RefCell::new(symbols), boot_to_wall_ns, probe_binaries: Vec::new(), site_names: Vec::new() }
    }

    /// Sets the binaries of the probes (uprobe and USDT targets), by probe index.
    pub fn set_probe_binaries(&mut self, binaries: Vec<Option<String>>) {
        self.probe_binaries = binaries;
    }

    /// The names of the sites found at run time, by their BPF cookie (`RuntimeTy::SiteName`).
    pub fn set_site_names(&mut self, names: Vec<String>) {
        self.site_names = names;
    }

    /// Replaces every runtime value in `v` (and in tuples inside it) by its text.
    pub fn resolve(&self, v: &mut Value, place: Place, stacks: &dyn StackSource) {
        match v {
            // A pointer keeps its number: printf's integer conversions print it as one, and
            // rendering it gives bpftrace's hex form.
            // So does a bool: `true`/`false` as text, 0/1 to printf.
            Value::Runtime(RuntimeTy::Pointer | RuntimeTy::Bool { .. }, _) => {}
            Value::Runtime(ty, raw) => {
                let text = self.text(ty, raw, place, stacks);
                *v = Value::Str(text.into_bytes());
            }
            Value::Tuple(items) | Value::Array(items) => items.iter_mut().for_each(|i| self.resolve(i, place, stacks)),
            Value::Record(fields) => fields.iter_mut().for_each(|(_, i)| self.resolve(i, place, stacks)),
            Value::Int(_) | Value::Str(_) => {}
        }
    }

    fn ksym(&self, addr: u64, offset: bool) -> String {
        match self.symbols.borrow_mut().kernel(addr) {
            Some(s) if offset => format!("{}+{}", s.name, s.offset),
            Some(s) => s.name,
            None => hex(addr),
        }
    }

    fn usym(&self, pid: u32, probe: Option<u32>, addr: u64, offset: bool, module: bool) -> String {
        let binary = probe.and_then(|i| self.probe_binaries.get(i as usize)).and_then(Option::as_deref);
        let found = {
            let mut symbols = self.symbols.borrow_mut();
            symbols.user(pid, addr).or_else(|| binary.and_then(|b| symbols.user_in_file(b, addr)))
        };
        match found {
            Some(s) => {
                let mut t = s.name;
                if offset {
                    t.push_str(&format!("+{}", s.offset));
                }
                if module {
                    t.push_str(&format!(" ({})", s.module.as_deref().unwrap_or("[unknown]")));
                }
                t
            }
            None if module => format!("{} ([unknown])", hex(addr)),
            None => hex(addr),
        }
    }

    /// The text of one runtime value laid out in `raw`.
    pub fn text(&self, ty: &RuntimeTy, raw: &[u8], place: Place, stacks: &dyn StackSource) -> String {
        let word = |i: usize| raw.get(i * 8..).map_or(0, le_u64);
        match ty {
            RuntimeTy::Ksym => self.ksym(word(0), false),
            RuntimeTy::Usym => {
                let (pid, probe) = split_user_pid_word(word(1));
                self.usym(pid, probe, word(0), false, false)
            }
            RuntimeTy::Kstack { map, mode, limit } | RuntimeTy::Ustack { map, mode, limit } => {
                let user = matches!(ty, RuntimeTy::Ustack { .. });
                let id = word(0) as i64;
                let frames = u32::try_from(id).ok().and_then(|id| stacks.stack(map, id)).unwrap_or_default();
                let frames: Vec<u64> = frames.into_iter().take_while(|&a| a != 0).take(*limit as usize).collect();
                if u32::try_from(id).is_err() || frames.is_empty() {
                    return String::new();
                }
                let indent = if place == Place::Key { 4 } else { 8 };
                let (pid, probe) = split_user_pid_word(word(1));
                self.stack_text(&frames, *mode, user, (pid, probe), indent)
            }
            RuntimeTy::Inet => inet(word(0), raw.get(8..24).unwrap_or(&[])),
            RuntimeTy::Timestamp { fmt, epoch } => {
                let base = if *epoch { 0 } else { self.boot_to_wall_ns };
                let wall = i128::from(word(0)) + base;
                strftime::format(fmt, wall, STRFTIME_LIMIT).unwrap_or_else(|| {
                    eprintln!("ERROR: strftime returned 0");
                    "(?)".to_string()
                })
            }
            RuntimeTy::MacAddr => {
                let b = raw.get(..6).unwrap_or(&[0; 6]);
                b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(":")
            }
            RuntimeTy::CgroupPath { filter } => self.symbols.borrow_mut().cgroup_path(word(0), filter.as_deref()),
            RuntimeTy::Strerror => crate::kernel::os_error_text(word(0) as i32),
            RuntimeTy::Pointer => format!("{:#x}", word(0)),
            RuntimeTy::Bool { .. } => (if raw.iter().any(|&b| b != 0) { "true" } else { "false" }).to_string(),
            RuntimeTy::Username => self.symbols.borrow_mut().username(word(0) as u32),
            RuntimeTy::SiteName => self.site_names.get(word(0) as usize).cloned().unwrap_or_default(),
            RuntimeTy::Buf { .. } => {
                let n = usize::try_from(word(0)).unwrap_or(0);
                let bytes = raw.get(8..).map_or(&[][..], |b| &b[..n.min(b.len())]);
                buf_text(bytes, 0)
            }
        }
    }

    fn stack_text(&self, frames: &[u64], mode: StackMode, user: bool, pid: (u32, Option<u32>), indent: usize) -> String {
        let (pid, probe) = pid;
        let mut out = String::from("\n");
        for &addr in frames {
            match mode {
                StackMode::Raw => out.push_str(&format!("{addr:x}\n")),
                StackMode::Bpftrace => {
                    let sym = if user { self.usym(pid, probe, addr, true, false) } else { self.ksym(addr, true) };
                    out.push_str(&format!("{:indent$}{sym}\n", ""));
                }
                StackMode::Perf => {
                    let sym = if user { self.usym(pid, probe, addr, true, true) } else { self.ksym(addr, true) };
                    out.push_str(&format!("\t{addr:x} {sym}\n"));
                }
            }
        }
        out
    }
}

/// The bytes of a `buf()` as printf's `%r` (`mode` 0: printable ASCII as is, other bytes as
/// `\xNN`), `%rx` (`x`: every byte as `\xNN`) or `%rh` (`h`: hex pairs separated by spaces).
pub fn buf_text(bytes: &[u8], mode: u8) -> String {
    match mode {
        b'h' => bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "),
        b'x' => bytes.iter().map(|b| format!("\\x{b:02x}")).collect(),
        _ => bytes
            .iter()
            .map(|&b| if (32..=126).contains(&b) { char::from(b).to_string() } else { format!("\\x{b:02x}") })
            .collect(),
    }
}

/// An address as C++'s `<< (void *)addr` prints it (bpftrace's unresolved symbols): `0` for
/// null, else `0x` and hex digits.
fn hex(addr: u64) -> String {
    if addr == 0 {
        "0".to_string()
    } else {
        format!("0x{addr:x}")
    }
}

/// An IPv4 or IPv6 address as `inet_ntop` writes it; empty for other families.
pub fn inet(family: u64, bytes: &[u8]) -> String {
    match family {
        2 => {
            let b: [u8; 4] = bytes.get(..4).and_then(|b| b.try_into().ok()).unwrap_or_default();
            std::net::Ipv4Addr::from(b).to_string()
        }
        10 => {
            let b: [u8; 16] = bytes.get(..16).and_then(|b| b.try_into().ok()).unwrap_or_default();
            std::net::Ipv6Addr::from(b).to_string()
        }
        _ => String::new(),
    }
}

/// Whether map entries whose values have type `ty` are printed without a newline between them
/// (bpftrace's text output does so for stacks, symbols and addresses).
pub fn value_needs_no_separator(ty: &btc_bpfprog::Ty) -> bool {
    matches!(
        ty,
        btc_bpfprog::Ty::Runtime(
            RuntimeTy::Kstack { .. } | RuntimeTy::Ustack { .. } | RuntimeTy::Ksym | RuntimeTy::Usym | RuntimeTy::Inet
        )
    )
}

#[cfg(test)]
mod tests;
