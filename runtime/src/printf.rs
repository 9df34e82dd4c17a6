//! C `printf` semantics for bpftrace's format specifiers.
//!
//! The specifiers are bpftrace 0.20's ([`btc_bpfprog::printf`]): `%d %u %x %X %o %c %s %p %r`,
//! the flags `-` and `0`, a width, a precision and the length modifiers `hh h l ll z j t`. Integer arguments behave as they do when
//! bpftrace hands a 64-bit value to C's `printf`: without a 64-bit length modifier a conversion
//! acts on the low 32 bits (`h`: 16 bits, `hh`: 8 bits).
//!
//! A format is parsed once ([`Format::parse`]) and rendered for every event ([`Format::render`]).

use crate::value::{Int, Value};

/// A parsed format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Vec<u8>),
    Spec(Spec),
    /// A specifier that C's printf read as text (`%%d`): it takes an argument and prints
    /// nothing for it.
    Unused,
}

/// One conversion specification such as `%-16s`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
    /// Width in bits the integer argument is converted to.
    bits: u32,
    conv: u8,
    /// For `%r`: `x` (`%rx`, all bytes in hex) or `h` (`%rh`, hex pairs separated by spaces).
    rmode: u8,
    /// The specification as written, printed as is when no argument is left for it.
    text: Vec<u8>,
}

/// Widths and precisions above this are clamped, so a hostile format can't exhaust memory.
const MAX_WIDTH: usize = 4096;

impl Format {
    /// Parses `fmt` as bpftrace 0.20 splits it: into parts that each end with a conversion
    /// specifier ([`btc_bpfprog::printf::specifiers`]) and the text after the last one. Each
    /// part goes through C's printf, where `%%` is `%`; the text after the last specifier is
    /// printed as it is (`printf("%d%%", 5)` prints `5%%`, `printf("100%%")` prints `100%%`).
    /// Other `%` signs are text. Never fails.
    pub fn parse(fmt: &str) -> Format {
        let b = fmt.as_bytes();
        let mut pieces = Vec::new();
        let mut last = 0;
        for r in btc_bpfprog::printf::specifiers(b) {
            // C's printf reads the part from its start: `%%` pairs are `%`, and a pair may take
            // the specifier's own `%` (`%%d` prints `%d`; its argument is then unused).
            let mut lit = Vec::new();
            let mut i = last;
            let mut reached = false;
            while i < r.end {
                if i == r.start {
                    reached = true;
                    break;
                }
                lit.push(b[i]);
                i += if b[i] == b'%' && i + 1 < r.end && b[i + 1] == b'%' { 2 } else { 1 };
            }
            if !lit.is_empty() {
                pieces.push(Piece::Literal(lit));
            }
            match parse_spec(b, r.start).filter(|_| reached) {
                Some((spec, _)) => pieces.push(Piece::Spec(spec)),
                None => pieces.push(Piece::Unused),
            }
            last = r.end;
        }
        if last < b.len() {
            pieces.push(Piece::Literal(b[last..].to_vec()));
        }
        Format { pieces }
    }

    /// Number of arguments the format consumes.
    #[cfg(test)]
    pub fn arg_count(&self) -> usize {
        self.pieces.iter().filter(|p| matches!(p, Piece::Spec(_) | Piece::Unused)).count()
    }

    /// Appends the formatted text to `out`. Missing arguments leave their specification as
    /// written; extra arguments are ignored.
    pub fn render(&self, args: &[Value], out: &mut Vec<u8>) {
        let mut args = args.iter();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(l) => out.extend_from_slice(l),
                Piece::Unused => {
                    args.next();
                }
                Piece::Spec(spec) => match args.next() {
                    Some(arg) => spec.render(arg, out),
                    None => out.extend_from_slice(&spec.text),
                },
            }
        }
    }
}

/// Parses the specification starting at `b[start] == b'%'`; returns it and the index after it.
fn parse_spec(b: &[u8], start: usize) -> Option<(Spec, usize)> {
    let mut spec = Spec { bits: 32, ..Spec::default() };
    let mut i = start + 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'-' => spec.left = true,
            b'0' => spec.zero = true,
            b'+' => spec.plus = true,
            b' ' => spec.space = true,
            b'#' => spec.alt = true,
            _ => break,
        }
        i += 1;
    }
    let (width, next) = parse_number(b, i);
    spec.width = width.min(MAX_WIDTH);
    i = next;
    if b.get(i) == Some(&b'.') {
        let (precision, next) = parse_number(b, i + 1);
        spec.precision = Some(precision.min(MAX_WIDTH));
        i = next;
    }
    let rest = &b[i.min(b.len())..];
    let (bits, len) = if rest.starts_with(b"hh") {
        (8, 2)
    } else if rest.starts_with(b"ll") {
        (64, 2)
    } else {
        match rest.first() {
            Some(b'h') => (16, 1),
            Some(b'l' | b'z' | b'j' | b't' | b'q' | b'L') => (64, 1),
            _ => (32, 0),
        }
    };
    spec.bits = bits;
    i += len;
    let conv = *b.get(i)?;
    if !b"diuxXocspr%".contains(&conv) {
        return None;
    }
    spec.conv = conv;
    i += 1;
    if conv == b'r' && matches!(b.get(i), Some(b'x' | b'h')) {
        spec.rmode = b[i];
        i += 1;
    }
    spec.text = b[start..i].to_vec();
    Some((spec, i))
}

fn parse_number(b: &[u8], mut i: usize) -> (usize, usize) {
    let mut n: usize = 0;
    while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        i += 1;
    }
    (n, i)
}

impl Spec {
    fn render(&self, arg: &Value, out: &mut Vec<u8>) {
        match (self.conv, arg) {
            // A pointer under a numeric conversion is its address, an unsigned number.
            (b'd' | b'i' | b'u' | b'x' | b'X' | b'o' | b'p' | b'c', Value::Runtime(btc_bpfprog::RuntimeTy::Pointer, raw)) => {
                let addr = Value::Int(Int { bits: crate::value::le_u64(raw), signed: false });
                self.render(&addr, out)
            }
            (b'd' | b'i' | b'u' | b'x' | b'X' | b'o' | b'c', Value::Runtime(btc_bpfprog::RuntimeTy::Bool { .. }, raw)) => {
                let n = Value::Int(Int { bits: u64::from(raw.iter().any(|&b| b != 0)), signed: false });
                self.render(&n, out)
            }
            (b'r', Value::Runtime(btc_bpfprog::RuntimeTy::Buf { .. }, raw)) => {
                let n = usize::try_from(crate::value::le_u64(raw)).unwrap_or(0);
                let bytes = raw.get(8..).map_or(&[][..], |b| &b[..n.min(b.len())]);
                self.pad(out, &[], crate::resolve::buf_text(bytes, self.rmode).as_bytes(), false);
            }
            (b's', v) => {
                let mut s = v.to_bytes();
                if let Some(p) = self.precision {
                    s.truncate(p);
                }
                self.pad(out, &[], &s, false);
            }
            (b'c', Value::Int(v)) => {
                // bpftrace formats each conversion with snprintf and keeps the result as a C
                // string: a NUL character ends it, padding after it included.
                let mut text = Vec::new();
                self.pad(&mut text, &[], &[v.bits as u8], false);
                let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
                out.extend_from_slice(&text[..end]);
            }
            (b'p', Value::Int(v)) => {
                if v.bits == 0 {
                    self.pad(out, &[], b"(nil)", false);
                } else {
                    let digits = self.digits(format!("{:x}", v.bits));
                    self.pad(out, b"0x", digits.as_bytes(), self.zero_pads());
                }
            }
            (b'd' | b'i' | b'u' | b'x' | b'X' | b'o', Value::Int(v)) => self.render_int(*v, out),
            // A string or tuple given to a numeric conversion: print it as %s would.
            (_, v) => self.pad(out, &[], &v.to_bytes(), false),
        }
    }

    fn render_int(&self, v: Int, out: &mut Vec<u8>) {
        let mask = if self.bits >= 64 { u64::MAX } else { (1u64 << self.bits) - 1 };
        let raw = v.bits & mask;
        let signed_conv = matches!(self.conv, b'd' | b'i');
        let (negative, magnitude) = if signed_conv {
            let shift = 64 - self.bits;
            let s = ((raw << shift) as i64) >> shift;
            (s < 0, s.unsigned_abs())
        } else {
            (false, raw)
        };
        let mut prefix: Vec<u8> = Vec::new();
        if signed_conv {
            if negative {
                prefix.push(b'-');
            } else if self.plus {
                prefix.push(b'+');
            } else if self.space {
                prefix.push(b' ');
            }
        }
        let digits = match self.conv {
            b'x' => format!("{magnitude:x}"),
            b'X' => format!("{magnitude:X}"),
            b'o' => format!("{magnitude:o}"),
            _ => magnitude.to_string(),
        };
        let mut digits = self.digits(digits);
        if self.alt {
            match self.conv {
                b'x' if magnitude != 0 => prefix.extend_from_slice(b"0x"),
                b'X' if magnitude != 0 => prefix.extend_from_slice(b"0X"),
                b'o' if !digits.starts_with('0') => digits.insert(0, '0'),
                _ => {}
            }
        }
        self.pad(out, &prefix, digits.as_bytes(), self.zero_pads());
    }

    /// Applies the precision (minimum number of digits) to a digit string.
    fn digits(&self, digits: String) -> String {
        match self.precision {
            Some(0) if digits == "0" => String::new(),
            Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
            _ => digits,
        }
    }

    /// The `0` flag pads numbers with zeros unless `-` or a precision is given.
    fn zero_pads(&self) -> bool {
        self.zero && !self.left && self.precision.is_none()
    }

    /// Writes `prefix` and `body` padded to the field width.
    fn pad(&self, out: &mut Vec<u8>, prefix: &[u8], body: &[u8], zeros: bool) {
        let len = prefix.len() + body.len();
        let fill = self.width.saturating_sub(len);
        if self.left {
            out.extend_from_slice(prefix);
            out.extend_from_slice(body);
            out.resize(out.len() + fill, b' ');
        } else if zeros {
            out.extend_from_slice(prefix);
            out.resize(out.len() + fill, b'0');
            out.extend_from_slice(body);
        } else {
            out.resize(out.len() + fill, b' ');
            out.extend_from_slice(prefix);
            out.extend_from_slice(body);
        }
    }
}

#[cfg(test)]
mod tests;
