//! Decoding values laid out per a [`Ty`] and rendering them as bpftrace prints them.

use btc_bpfprog::{RuntimeTy, Ty};
#[cfg(test)]
use btc_bpfprog::NamedField;
use std::cmp::Ordering;

/// Why bytes could not be decoded as a value of some [`Ty`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record too short: a {ty} at offset {offset} needs {need} bytes, the record has {have}")]
    Short { ty: &'static str, offset: usize, need: usize, have: usize },
    #[error("unsupported integer width of {0} bytes")]
    IntWidth(u8),
}

/// An integer widened to 64 bits: sign-extended when `signed`, zero-extended otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int {
    pub bits: u64,
    pub signed: bool,
}

impl Int {
    pub fn signed(v: i64) -> Int {
        Int { bits: v as u64, signed: true }
    }

    pub fn unsigned(v: u64) -> Int {
        Int { bits: v, signed: false }
    }

    /// Compares by numeric value (signed values as signed, unsigned as unsigned).
    pub fn cmp_numeric(&self, other: &Int) -> Ordering {
        i128::from(*self).cmp(&i128::from(*other))
    }
}

impl From<Int> for i128 {
    fn from(v: Int) -> i128 {
        if v.signed {
            i128::from(v.bits as i64)
        } else {
            i128::from(v.bits)
        }
    }
}

impl std::fmt::Display for Int {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.signed {
            write!(f, "{}", self.bits as i64)
        } else {
            write!(f, "{}", self.bits)
        }
    }
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(Int),
    /// The bytes of a string up to (not including) its NUL terminator.
    Str(Vec<u8>),
    Tuple(Vec<Value>),
    /// A C struct: its fields by name.
    Record(Vec<(String, Value)>),
    /// A C array.
    Array(Vec<Value>),
    /// A value the runtime formats (symbol, stack, address...) with its raw bytes, until
    /// `resolve` turns it into text.
    Runtime(RuntimeTy, Vec<u8>),
}

fn slice<'a>(data: &'a [u8], offset: usize, len: usize, ty: &'static str) -> Result<&'a [u8], DecodeError> {
    offset
        .checked_add(len)
        .and_then(|end| data.get(offset..end))
        .ok_or(DecodeError::Short { ty, offset, need: len, have: data.len() })
}

/// Reads a little-endian integer of `bytes` bytes at `offset`.
pub fn read_int(data: &[u8], offset: usize, bytes: u8, signed: bool) -> Result<Int, DecodeError> {
    let raw = slice(data, offset, usize::from(bytes), "integer")?;
    let mut buf = [0u8; 8];
    let bits = match bytes {
        1 | 2 | 4 | 8 => {
            buf[..raw.len()].copy_from_slice(raw);
            u64::from_le_bytes(buf)
        }
        other => return Err(DecodeError::IntWidth(other)),
    };
    let bits = if signed && bytes < 8 {
        let shift = 64 - 8 * u32::from(bytes);
        (((bits << shift) as i64) >> shift) as u64
    } else {
        bits
    };
    Ok(Int { bits, signed })
}

/// Decodes a value of type `ty` found at `offset` in `data`.
pub fn decode_at(ty: &Ty, data: &[u8], offset: usize) -> Result<Value, DecodeError> {
    match ty {
        Ty::Int { bytes, signed } => read_int(data, offset, *bytes, *signed).map(Value::Int),
        Ty::Str { len } => {
            let raw = slice(data, offset, *len as usize, "string")?;
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            Ok(Value::Str(raw[..end].to_vec()))
        }
        Ty::Tuple { fields, size } => {
            // Check the whole record is there so a truncated tuple is reported as such.
            slice(data, offset, *size as usize, "tuple")?;
            fields
                .iter()
                .map(|f| decode_at(&f.ty, data, offset + f.offset as usize))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Tuple)
        }
        Ty::Record { fields, size } => {
            slice(data, offset, *size as usize, "record")?;
            fields
                .iter()
                .map(|f| decode_at(&f.ty, data, offset + f.offset as usize).map(|v| (f.name.clone(), v)))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Record)
        }
        Ty::Array { elem, count } => {
            let esz = elem.size() as usize;
            (0..*count as usize).map(|i| decode_at(elem, data, offset + i * esz)).collect::<Result<Vec<_>, _>>().map(Value::Array)
        }
        Ty::Bits { shift, bits, signed } => {
            let raw = slice(data, offset, ty.size() as usize, "bitfield")?;
            let mut buf = [0u8; 16];
            buf[..raw.len().min(16)].copy_from_slice(&raw[..raw.len().min(16)]);
            let v = u128::from_le_bytes(buf) >> shift;
            let width = u32::from(*bits).clamp(1, 64);
            let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
            let v = (v as u64) & mask;
            let v = if *signed && width < 64 && v >> (width - 1) == 1 { v | !mask } else { v };
            Ok(Value::Int(Int { bits: v, signed: *signed }))
        }
        Ty::Runtime(r) => {
            let raw = slice(data, offset, r.size() as usize, "value")?;
            Ok(Value::Runtime(r.clone(), raw.to_vec()))
        }
    }
}

/// The truncation trailer (BPFTRACE_STR_TRUNC_TRAILER, `..` by default) and BPFTRACE_STRLEN.
/// As in bpftrace 0.20, a string argument of printf, system or cat whose length is
/// BPFTRACE_STRLEN - 1 (it fills a `str()` buffer) is taken to be cut and printed with the
/// trailer; strings in maps, in `print()` and inside tuples get none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trailer {
    pub strlen: u32,
    pub text: Vec<u8>,
}

impl Trailer {
    /// No trailer at all.
    #[cfg(test)]
    pub fn none() -> Trailer {
        Trailer::default()
    }

    /// Appends the trailer to the format arguments of `args` (a tuple of the arguments, or
    /// the only one, laid out as `ty`) that are strings of BPFTRACE_STRLEN - 1 bytes in a
    /// buffer no larger than BPFTRACE_STRLEN, so possibly cut. A string whose buffer is larger
    /// (the `probe` and `func` names, which bpftrace 0.20 prints whole, never as strings that
    /// could have been cut) gets none.
    pub fn apply(&self, ty: &Ty, args: &mut Value) {
        if self.strlen == 0 || self.text.is_empty() {
            return;
        }
        let mark = |ty: &Ty, v: &mut Value| {
            let can_be_cut = match ty {
                Ty::Str { len } => *len <= self.strlen,
                _ => false,
            };
            if let Value::Str(s) = v {
                if can_be_cut && s.len() + 1 == self.strlen as usize {
                    s.extend_from_slice(&self.text);
                }
            }
        };
        match (ty, args) {
            (Ty::Tuple { fields, .. }, Value::Tuple(items)) => {
                items.iter_mut().zip(fields).for_each(|(v, f)| mark(&f.ty, v))
            }
            (ty, other) => mark(ty, other),
        }
    }
}

/// Decodes a value of type `ty` at the start of `data`.
pub fn decode(ty: &Ty, data: &[u8]) -> Result<Value, DecodeError> {
    decode_at(ty, data, 0)
}

/// Decodes a map key laid out as `ty`. bpftrace 0.20 prints every integer of a key as a signed
/// number: a key part (or the whole key) widened to 64 bits by its own signedness
/// (`@[(uint64)-1]` is `@[-1]`, `@[(uint32)4000000000]` stays `@[4000000000]`), an integer
/// inside a struct or array key as a signed number of its width (a `uint8` member 255 is `-1`).
pub fn decode_key(ty: &Ty, data: &[u8]) -> Result<Value, DecodeError> {
    let mut v = decode(ty, data)?;
    signed_key_ints(ty, &mut v, true);
    Ok(v)
}

/// Reinterprets the integers of `value` (laid out as `ty`) as signed: 64-bit ones at the top
/// level (`top`, a key or a part of a multi-key), ones of their own width inside aggregates.
fn signed_key_ints(ty: &Ty, value: &mut Value, top: bool) {
    match (ty, value) {
        (Ty::Int { bytes, .. }, Value::Int(i)) => {
            let width = if top { 8 } else { u32::from((*bytes).clamp(1, 8)) };
            let shift = 64 - 8 * width;
            *i = Int::signed(((i.bits << shift) as i64) >> shift);
        }
        (Ty::Tuple { fields, .. }, Value::Tuple(items)) => {
            for (f, v) in fields.iter().zip(items.iter_mut()) {
                signed_key_ints(&f.ty, v, top);
            }
        }
        (Ty::Record { fields, .. }, Value::Record(items)) => {
            for (f, (_, v)) in fields.iter().zip(items.iter_mut()) {
                signed_key_ints(&f.ty, v, false);
            }
        }
        (Ty::Array { elem, .. }, Value::Array(items)) => {
            for v in items {
                signed_key_ints(elem, v, false);
            }
        }
        _ => {}
    }
}

impl Value {
    /// Appends the text form bpftrace uses in map output: integers in decimal, strings raw, tuples
    /// as `(a, b)`.
    pub fn render(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Value::Str(s) => out.extend_from_slice(s),
            Value::Tuple(items) => {
                out.push(b'(');
                render_joined(items, out);
                out.push(b')');
            }
            // bpftrace: `{ .a = 1, .b = { .c = 2 } }` and `[1,2,3]`.
            Value::Record(fields) => {
                out.extend_from_slice(b"{ ");
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    out.push(b'.');
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(b" = ");
                    v.render(out);
                }
                out.extend_from_slice(b" }");
            }
            Value::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.render(out);
                }
                out.push(b']');
            }
            Value::Runtime(RuntimeTy::Bool { .. }, raw) => {
                out.extend_from_slice(if raw.iter().any(|&b| b != 0) { b"true" } else { b"false" })
            }
            // Unresolved: show the raw bytes as one hex number per 8 bytes.
            Value::Runtime(_, raw) => {
                let words: Vec<String> = raw.chunks(8).map(|c| format!("{:#x}", le_u64(c))).collect();
                out.extend_from_slice(words.join(" ").as_bytes());
            }
        }
    }

    /// Appends the text form bpftrace uses for a part of a map key. Structs and arrays are
    /// written without spaces there (`{.a=1,.b=[1,2]}`); everything else as [`Value::render`].
    pub fn render_key(&self, out: &mut Vec<u8>) {
        match self {
            Value::Record(fields) => {
                out.push(b'{');
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'.');
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'=');
                    v.render_key(out);
                }
                out.push(b'}');
            }
            Value::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.render_key(out);
                }
                out.push(b']');
            }
            other => other.render(out),
        }
    }

    /// The key text form as bytes.
    pub fn key_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.render_key(&mut out);
        out
    }

    /// The text form as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.render(&mut out);
        out
    }

    /// The ordering bpftrace uses when it sorts map keys: integers as unsigned numbers of their
    /// width, strings bytewise up to the NUL, tuples field by field.
    pub fn cmp_key(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.bits.cmp(&b.bits),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Runtime(RuntimeTy::Pointer, a), Value::Runtime(RuntimeTy::Pointer, b)) => le_u64(a).cmp(&le_u64(b)),
            (Value::Runtime(_, a), Value::Runtime(_, b)) => a.cmp(b),
            (Value::Tuple(a), Value::Tuple(b)) | (Value::Array(a), Value::Array(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let o = x.cmp_key(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Value::Record(a), Value::Record(b)) => {
                for ((_, x), (_, y)) in a.iter().zip(b) {
                    let o = x.cmp_key(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            // Values of one map all have the same type; order mixed kinds arbitrarily but totally.
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Int(_) => 0,
            Value::Str(_) => 1,
            Value::Tuple(_) => 2,
            Value::Record(_) => 3,
            Value::Array(_) => 4,
            Value::Runtime(..) => 5,
        }
    }
}

/// A little-endian u64 from up to 8 bytes.
pub fn le_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(w)
}

/// Appends `items` rendered and joined by `", "`.
pub fn render_joined(items: &[Value], out: &mut Vec<u8>) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        item.render(out);
    }
}

/// Appends the parts of a map key rendered as keys ([`Value::render_key`]) and joined by `sep`.
pub fn render_key_joined(items: &[Value], sep: &[u8], out: &mut Vec<u8>) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        item.render_key(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &Value) -> String {
        String::from_utf8_lossy(&v.to_bytes()).into_owned()
    }

    #[test]
    fn trailer_marks_argument_strings_of_strlen_minus_one_bytes() {
        let t = Trailer { strlen: 4, text: b"..".to_vec() };
        let mut v = Value::Tuple(vec![
            Value::Str(b"abc".to_vec()),
            Value::Str(b"ab".to_vec()),
            Value::Str(b"abcdefg".to_vec()),
            Value::Int(Int::signed(1)),
            Value::Tuple(vec![Value::Str(b"xyz".to_vec())]),
        ]);
        let s4 = Ty::Str { len: 4 };
        let ty = Ty::tuple(vec![s4.clone(), s4.clone(), Ty::Str { len: 8 }, Ty::I64, Ty::tuple(vec![s4.clone()])]);
        t.apply(&ty, &mut v);
        assert_eq!(text(&v), "(abc.., ab, abcdefg, 1, (xyz))");
        let mut s = Value::Str(b"abc".to_vec());
        Trailer { strlen: 4, text: vec![] }.apply(&s4, &mut s);
        Trailer::none().apply(&s4, &mut s);
        assert_eq!(text(&s), "abc");
        // A name in a buffer larger than BPFTRACE_STRLEN (probe, func) was never cut.
        t.apply(&Ty::Str { len: 5 }, &mut s);
        assert_eq!(text(&s), "abc");
        t.apply(&s4, &mut s);
        assert_eq!(text(&s), "abc..");
    }

    #[test]
    fn key_integers_print_signed_of_their_width() {
        let ty = Ty::tuple(vec![Ty::U64, Ty::Int { bytes: 8, signed: false }, Ty::Int { bytes: 4, signed: false }]);
        let mut data = vec![0u8; 24];
        data[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        data[8..16].copy_from_slice(&255u64.to_le_bytes());
        data[16..20].copy_from_slice(&4_000_000_000u32.to_le_bytes());
        let key = decode_key(&ty, &data).unwrap_or(Value::Str(vec![]));
        assert_eq!(text(&key), "(-1, 255, 4000000000)");
        let rec = Ty::Record {
            fields: vec![
                NamedField { name: "a".into(), offset: 0, ty: Ty::Int { bytes: 1, signed: false } },
                NamedField { name: "b".into(), offset: 2, ty: Ty::Array { elem: Box::new(Ty::Int { bytes: 2, signed: false }), count: 2 } },
            ],
            size: 6,
        };
        let key = decode_key(&rec, &[0xff, 0, 0xfe, 0xff, 7, 0]).unwrap_or(Value::Str(vec![]));
        assert_eq!(String::from_utf8_lossy(&key.key_bytes()), "{.a=-1,.b=[-2,7]}");
        // Sorting stays unsigned, as bpftrace 0.20 sorts integer keys.
        let k = |v: u64| decode_key(&Ty::U64, &v.to_le_bytes()).unwrap_or(Value::Str(vec![]));
        assert_eq!(k(u64::MAX).cmp_key(&k(5)), Ordering::Greater);
    }

    #[test]
    fn ints_sign_extend_per_type() {
        let ty = Ty::Int { bytes: 4, signed: true };
        assert_eq!(decode(&ty, &(-5i32).to_le_bytes()), Ok(Value::Int(Int::signed(-5))));
        let ty = Ty::Int { bytes: 2, signed: false };
        assert_eq!(decode(&ty, &[0xff, 0xff]), Ok(Value::Int(Int::unsigned(65535))));
        let ty = Ty::Int { bytes: 1, signed: true };
        assert_eq!(text(&decode(&ty, &[0x80]).unwrap_or(Value::Str(vec![]))), "-128");
        let ty = Ty::U64;
        assert_eq!(text(&decode(&ty, &u64::MAX.to_le_bytes()).unwrap_or(Value::Str(vec![]))), "18446744073709551615");
    }

    #[test]
    fn strings_stop_at_nul_or_buffer_end() {
        assert_eq!(decode(&Ty::Str { len: 6 }, b"ab\0cd\0"), Ok(Value::Str(b"ab".to_vec())));
        assert_eq!(decode(&Ty::Str { len: 3 }, b"abc"), Ok(Value::Str(b"abc".to_vec())));
    }

    #[test]
    fn tuples_use_offsets_and_render_with_parens() {
        let ty = Ty::tuple(vec![Ty::Int { bytes: 4, signed: true }, Ty::Str { len: 4 }, Ty::U64]);
        let mut data = vec![0u8; 16];
        data[0..4].copy_from_slice(&7i32.to_le_bytes());
        data[4..6].copy_from_slice(b"hi");
        data[8..16].copy_from_slice(&9u64.to_le_bytes());
        let v = decode(&ty, &data).unwrap_or(Value::Str(vec![]));
        assert_eq!(text(&v), "(7, hi, 9)");
        let nested = Value::Tuple(vec![Value::Int(Int::signed(1)), v]);
        assert_eq!(text(&nested), "(1, (7, hi, 9))");
    }

    #[test]
    fn records_arrays_and_bitfields_render_as_bpftrace_does() {
        let inner = Ty::Record { fields: vec![NamedField { name: "x".into(), offset: 0, ty: Ty::Int { bytes: 2, signed: true } }], size: 2 };
        let ty = Ty::Record {
            fields: vec![
                NamedField { name: "a".into(), offset: 0, ty: Ty::Int { bytes: 4, signed: true } },
                NamedField { name: "arr".into(), offset: 4, ty: Ty::Array { elem: Box::new(Ty::Int { bytes: 2, signed: false }), count: 3 } },
                NamedField { name: "lo".into(), offset: 10, ty: Ty::Bits { shift: 0, bits: 4, signed: false } },
                NamedField { name: "hi".into(), offset: 10, ty: Ty::Bits { shift: 4, bits: 4, signed: true } },
                NamedField { name: "s".into(), offset: 11, ty: Ty::Str { len: 3 } },
                NamedField { name: "d".into(), offset: 14, ty: inner },
            ],
            size: 16,
        };
        let mut data = vec![0u8; 16];
        data[0..4].copy_from_slice(&(-2i32).to_le_bytes());
        data[4..6].copy_from_slice(&1u16.to_le_bytes());
        data[8..10].copy_from_slice(&3u16.to_le_bytes());
        data[10] = 0xf5;
        data[11..13].copy_from_slice(b"hi");
        data[14..16].copy_from_slice(&7i16.to_le_bytes());
        let v = decode(&ty, &data).unwrap_or(Value::Str(vec![]));
        assert_eq!(text(&v), "{ .a = -2, .arr = [1,0,3], .lo = 5, .hi = -1, .s = hi, .d = { .x = 7 } }");
    }

    #[test]
    fn keys_write_structs_and_arrays_without_spaces() {
        let pair = Value::Record(vec![("m".into(), Value::Int(Int::signed(2))), ("n".into(), Value::Int(Int::signed(-3)))]);
        let grid = Value::Array(vec![
            Value::Array(vec![Value::Int(Int::signed(5)), Value::Int(Int::signed(6))]),
            Value::Array(vec![Value::Int(Int::signed(7)), Value::Int(Int::signed(8))]),
        ]);
        let nested = Value::Record(vec![("p".into(), pair.clone()), ("s".into(), Value::Str(b"ab".to_vec()))]);
        let key = |v: &Value| String::from_utf8_lossy(&v.key_bytes()).into_owned();
        assert_eq!(key(&pair), "{.m=2,.n=-3}");
        assert_eq!(key(&grid), "[[5,6],[7,8]]");
        assert_eq!(key(&nested), "{.p={.m=2,.n=-3},.s=ab}");
        assert_eq!(text(&pair), "{ .m = 2, .n = -3 }");
        let mut out = Vec::new();
        render_key_joined(&[pair.clone(), Value::Int(Int::signed(42))], b", ", &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "{.m=2,.n=-3}, 42");
        let other = Value::Record(vec![("m".into(), Value::Int(Int::signed(1))), ("n".into(), Value::Int(Int::signed(9)))]);
        assert_eq!(other.cmp_key(&pair), Ordering::Less);
    }

    #[test]
    fn short_data_is_an_error_not_a_panic() {
        assert!(matches!(decode(&Ty::U64, &[1, 2, 3]), Err(DecodeError::Short { .. })));
        let ty = Ty::tuple(vec![Ty::U64, Ty::U64]);
        assert!(matches!(decode(&ty, &[0; 12]), Err(DecodeError::Short { .. })));
        assert!(matches!(decode(&Ty::Int { bytes: 3, signed: false }, &[0; 8]), Err(DecodeError::IntWidth(3))));
    }

    #[test]
    fn key_order_is_unsigned_for_ints() {
        let a = Value::Int(Int::signed(-1));
        let b = Value::Int(Int::signed(5));
        assert_eq!(a.cmp_key(&b), Ordering::Greater);
        assert_eq!(Value::Str(b"a".to_vec()).cmp_key(&Value::Str(b"ab".to_vec())), Ordering::Less);
    }

    #[test]
    fn bools_are_one_byte_in_tuples_and_print_as_words() {
        let b = |bytes| Ty::Runtime(RuntimeTy::Bool { bytes });
        let ty = Ty::tuple(vec![b(1), b(1), Ty::I64]);
        // Two 1-byte bools, then the integer at the next 8-byte boundary.
        assert_eq!(ty.size(), 16);
        let mut data = [0u8; 16];
        data[0] = 1;
        data[8] = 7;
        let v = decode(&ty, &data).unwrap_or(Value::Str(vec![]));
        assert_eq!(text(&v), "(true, false, 7)");
        assert_eq!(text(&Value::Runtime(RuntimeTy::Bool { bytes: 8 }, 1u64.to_le_bytes().to_vec())), "true");
    }

    #[test]
    fn pointers_decode_render_in_hex_and_sort_as_numbers() {
        let ty = Ty::tuple(vec![Ty::Runtime(RuntimeTy::Pointer), Ty::I64]);
        let mut data = [0u8; 16];
        data[..8].copy_from_slice(&0x2eu64.to_le_bytes());
        data[8] = 5;
        let v = decode(&ty, &data).unwrap_or(Value::Str(vec![]));
        assert_eq!(text(&v), "(0x2e, 5)");
        assert_eq!(text(&Value::Runtime(RuntimeTy::Pointer, vec![0; 8])), "0x0");
        let p = |a: u64| Value::Runtime(RuntimeTy::Pointer, a.to_le_bytes().to_vec());
        // Little-endian bytes compared bytewise would put 0x100 first.
        assert_eq!(p(0x9).cmp_key(&p(0x100)), Ordering::Less);
        assert_eq!(p(0x100).cmp_key(&p(0x20)), Ordering::Greater);
    }
}
