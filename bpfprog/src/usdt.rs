//! USDT argument specifications: decoding a `.note.stapsdt` note's text (`-4@%eax 8@-8(%rbp)
//! 4@$5 8@(%rax,%rdx,8)`) into [`UsdtArg`]s (x86-64 `pt_regs` offsets), which the compiler
//! turns into code for a site it knows, and the runtime encodes into [`USDT_SPECS_MAP`] for the
//! sites it finds when the object runs (the program then reads the locations from there, by
//! the site's BPF cookie, as libbpf's USDT support does).

/// Where an argument's value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsdtLoc {
    /// A constant (`$5`).
    Const(i64),
    /// A register: its byte offset in `struct pt_regs`, and a right shift (8 for `%ah`-style
    /// high-byte registers).
    Reg { offset: u32, shift: u8 },
    /// Memory at `base + index * scale + disp` (user memory of the traced process).
    Mem { base: u32, index: Option<(u32, u8)>, disp: i64 },
    /// A global at `symbol + addend` (`counter(%rip)`). Resolution against the binary's symbols
    /// turns it into `Mem` relative to the probe's own address (`%rip` at the site).
    Symbol { symbol: String, addend: i64 },
}

/// One USDT argument: its size in bytes, signedness and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtArg {
    pub size: u8,
    pub signed: bool,
    pub loc: UsdtLoc,
}

/// The byte offset in x86-64 `struct pt_regs` of a register named as in AT&T syntax (without
/// `%`), and the shift of its value: `rax`, `eax`, `ax`, `al` and `ah` all live in `ax`.
pub fn x86_register(name: &str) -> Option<(u32, u8)> {
    let base = |n: &str| -> Option<u32> {
        Some(match n {
            "r15" => 0,
            "r14" => 8,
            "r13" => 16,
            "r12" => 24,
            "bp" => 32,
            "bx" => 40,
            "r11" => 48,
            "r10" => 56,
            "r9" => 64,
            "r8" => 72,
            "ax" => 80,
            "cx" => 88,
            "dx" => 96,
            "si" => 104,
            "di" => 112,
            "ip" => 128,
            "sp" => 152,
            _ => return None,
        })
    };
    // r8..r15 with their d/w/b suffixes.
    if let Some(num) = name.strip_prefix('r').filter(|r| r.starts_with(|c: char| c.is_ascii_digit())) {
        let digits = num.trim_end_matches(['d', 'w', 'b', 'l']);
        return base(&format!("r{digits}")).map(|o| (o, 0));
    }
    // rax/eax/ax, rsi/esi/si, rbp/ebp/bp, rip/eip/ip, ...
    let stem = name.strip_prefix('r').or_else(|| name.strip_prefix('e')).unwrap_or(name);
    if let Some(o) = base(stem) {
        return Some((o, 0));
    }
    // Byte registers: al/bl/cl/dl, ah/bh/ch/dh, sil/dil/bpl/spl.
    match name {
        "al" | "bl" | "cl" | "dl" => base(&format!("{}x", &name[..1])).map(|o| (o, 0)),
        "ah" | "bh" | "ch" | "dh" => base(&format!("{}x", &name[..1])).map(|o| (o, 8)),
        "sil" | "dil" | "bpl" | "spl" => base(&name[..2]).map(|o| (o, 0)),
        _ => None,
    }
}

fn parse_reg(s: &str) -> Result<u32, String> {
    let name = s.trim().strip_prefix('%').ok_or_else(|| format!("expected a register, found '{s}'"))?;
    match x86_register(name) {
        Some((o, 0)) => Ok(o),
        _ => Err(format!("unsupported register '%{name}' in a memory operand")),
    }
}

fn parse_i64(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => body.parse::<u64>().ok()?,
    } as i64;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses one argument such as `-4@%eax`, `8@-8(%rbp)`, `-4@$5` or `8@(%rax,%rdx,8)`.
pub fn parse_arg(spec: &str) -> Result<UsdtArg, String> {
    let (size, loc) = match spec.split_once('@') {
        Some((s, l)) => (parse_i64(s).ok_or_else(|| format!("bad argument size in '{spec}'"))?, l),
        // Old notes have no size: a (signed) long.
        None => (-8, spec),
    };
    let bytes = size.unsigned_abs();
    if ![1, 2, 4, 8].contains(&bytes) {
        return Err(format!("bad argument size {size} in '{spec}'"));
    }
    let loc = if let Some(c) = loc.strip_prefix('$') {
        UsdtLoc::Const(parse_i64(c).ok_or_else(|| format!("unsupported constant in '{spec}'"))?)
    } else if let Some(r) = loc.strip_prefix('%') {
        let (offset, shift) = x86_register(r).ok_or_else(|| format!("unsupported register '%{r}' in '{spec}'"))?;
        UsdtLoc::Reg { offset, shift }
    } else if let Some(open) = loc.find('(') {
        let close = loc.rfind(')').filter(|&c| c > open).ok_or_else(|| format!("unbalanced '(' in '{spec}'"))?;
        let disp_text = &loc[..open];
        let inner: Vec<&str> = loc[open + 1..close].split(',').collect();
        if inner.len() == 1 && inner[0].trim() == "%rip" && disp_text.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            let (symbol, addend) = match disp_text.find(['+', '-']) {
                Some(i) => (&disp_text[..i], parse_i64(&disp_text[i..]).ok_or_else(|| format!("bad offset in '{spec}'"))?),
                None => (disp_text, 0),
            };
            let loc = UsdtLoc::Symbol { symbol: symbol.to_string(), addend };
            return Ok(UsdtArg { size: bytes as u8, signed: size < 0, loc });
        }
        let disp = if disp_text.is_empty() {
            0
        } else {
            parse_i64(disp_text).ok_or_else(|| format!("unsupported argument location '{loc}'"))?
        };
        match inner.as_slice() {
            [b] => UsdtLoc::Mem { base: parse_reg(b)?, index: None, disp },
            [b, i] => UsdtLoc::Mem { base: parse_reg(b)?, index: Some((parse_reg(i)?, 1)), disp },
            [b, i, s] => {
                let scale = s
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|s| [1, 2, 4, 8].contains(s))
                    .ok_or_else(|| format!("bad scale in '{spec}'"))?;
                UsdtLoc::Mem { base: parse_reg(b)?, index: Some((parse_reg(i)?, scale)), disp }
            }
            _ => return Err(format!("unsupported argument location '{loc}'")),
        }
    } else {
        return Err(format!("unsupported argument location '{loc}'"));
    };
    if matches!(loc, UsdtLoc::Reg { offset: 128, .. } | UsdtLoc::Mem { base: 128, .. }) {
        return Err(format!("unsupported argument location '{spec}' (%rip-relative)"));
    }
    Ok(UsdtArg { size: bytes as u8, signed: size < 0, loc })
}

/// Parses a whole argument specification (space separated).
pub fn parse_args(spec: &str) -> Result<Vec<UsdtArg>, String> {
    spec.split_whitespace().map(parse_arg).collect()
}

/// Name of the BPF hash map of USDT argument specifications: one [`USDT_SPEC_SIZE`]-byte
/// entry per attached USDT site of a probe resolved at run time, keyed by the site's BPF cookie
/// (a u32). Not preallocated (at most [`USDT_MAX_SITES`] entries); the runtime fills it before
/// attaching.
pub const USDT_SPECS_MAP: &str = "btc_usdt_specs";
/// The most USDT sites the run-time USDT probes of an object attach to.
pub const USDT_MAX_SITES: u32 = 65536;
/// The most arguments a USDT probe has.
pub const USDT_MAX_ARGS: usize = 12;
/// Size of one argument's entry in a USDT specification.
pub const USDT_ARG_SIZE: usize = 16;
/// Size of one site's entry in [`USDT_SPECS_MAP`].
pub const USDT_SPEC_SIZE: usize = USDT_MAX_ARGS * USDT_ARG_SIZE;

/// How a USDT argument is found, as encoded in [`USDT_SPECS_MAP`]. Each argument is 16 bytes:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | the constant (`Const`) or displacement (`Mem`), i64 |
/// | 8 | 2 | `pt_regs` offset of the register (`Reg`) or base register (`Mem`) |
/// | 10 | 2 | `pt_regs` offset of the index register (`Mem`, when `scale` isn't 0) |
/// | 12 | 1 | the kind: 0 none, 1 const, 2 register, 3 memory |
/// | 13 | 1 | the size in bytes (1, 2, 4 or 8) |
/// | 14 | 1 | 1 when signed |
/// | 15 | 1 | the right shift of a register (8 for `%ah`...), or the index's scale for `Mem` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsdtArgKind {
    None = 0,
    Const = 1,
    Reg = 2,
    Mem = 3,
}

/// Offsets of the fields of one argument's entry (see [`UsdtArgKind`]).
pub mod usdt_arg_field {
    pub const VALUE: u32 = 0;
    pub const BASE: u32 = 8;
    pub const INDEX: u32 = 10;
    pub const KIND: u32 = 12;
    pub const SIZE: u32 = 13;
    pub const SIGNED: u32 = 14;
    pub const SHIFT_OR_SCALE: u32 = 15;
}

/// One encoded argument entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtArgSpec {
    pub kind: UsdtArgKind,
    pub value: i64,
    pub base: u16,
    pub index: u16,
    pub size: u8,
    pub signed: bool,
    pub shift_or_scale: u8,
}

impl UsdtArgSpec {
    pub fn encode(&self) -> [u8; USDT_ARG_SIZE] {
        let mut b = [0u8; USDT_ARG_SIZE];
        b[0..8].copy_from_slice(&self.value.to_le_bytes());
        b[8..10].copy_from_slice(&self.base.to_le_bytes());
        b[10..12].copy_from_slice(&self.index.to_le_bytes());
        b[12] = self.kind as u8;
        b[13] = self.size;
        b[14] = u8::from(self.signed);
        b[15] = self.shift_or_scale;
        b
    }
}

/// The entry of one site: its arguments, encoded, the rest zero (kind none).
pub fn encode_usdt_spec(args: &[UsdtArgSpec]) -> Vec<u8> {
    let mut out = vec![0u8; USDT_SPEC_SIZE];
    for (i, a) in args.iter().take(USDT_MAX_ARGS).enumerate() {
        out[i * USDT_ARG_SIZE..(i + 1) * USDT_ARG_SIZE].copy_from_slice(&a.encode());
    }
    out
}


/// The entry of one argument, or None for a location left to resolve against the binary's
/// symbols ([`UsdtLoc::Symbol`]).
pub fn arg_spec(a: &UsdtArg) -> Option<UsdtArgSpec> {
    let base = UsdtArgSpec { kind: UsdtArgKind::None, value: 0, base: 0, index: 0, size: a.size, signed: a.signed, shift_or_scale: 0 };
    let off = |o: u32| u16::try_from(o).unwrap_or(0);
    Some(match &a.loc {
        UsdtLoc::Const(c) => UsdtArgSpec { kind: UsdtArgKind::Const, value: *c, ..base },
        UsdtLoc::Reg { offset, shift } => UsdtArgSpec { kind: UsdtArgKind::Reg, base: off(*offset), shift_or_scale: *shift, ..base },
        UsdtLoc::Mem { base: b, index, disp } => UsdtArgSpec {
            kind: UsdtArgKind::Mem,
            value: *disp,
            base: off(*b),
            index: index.map_or(0, |(i, _)| off(i)),
            shift_or_scale: index.map_or(0, |(_, s)| s),
            ..base
        },
        UsdtLoc::Symbol { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usdt_specs_encode_at_their_offsets() {
        let a = UsdtArgSpec { kind: UsdtArgKind::Mem, value: -8, base: 32, index: 0, size: 4, signed: true, shift_or_scale: 0 };
        let b = encode_usdt_spec(&[a]);
        assert_eq!(b.len(), USDT_SPEC_SIZE);
        assert_eq!(i64::from_le_bytes(b[0..8].try_into().unwrap_or_default()), -8);
        assert_eq!((b[8], b[12], b[13], b[14]), (32, 3, 4, 1));
        assert!(b[USDT_ARG_SIZE..].iter().all(|&x| x == 0));
    }
}
