//! The CO-RE relocations of an object, read from its `.BTF.ext` and `.BTF` sections: which
//! instruction of which program libbpf fixes up at load, and against what (`struct
//! task_struct.pid`). `btc info` lists them; `btc run -v` prints each with the value the
//! instruction had in the object and the one it was loaded with (the target kernel's offset).
//! Pure: bytes in, records out; a section that can't be read gives no records (libbpf reports a
//! bad one when it loads the object).

use goblin::elf::Elf;

/// One CO-RE relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreReloc {
    /// The program (its ELF function symbol) the instruction belongs to.
    pub program: String,
    /// The instruction's index in the program (8-byte slots).
    pub insn: usize,
    /// `enum bpf_core_relo_kind`.
    pub kind: u32,
    /// What is relocated, in C: `struct task_struct.pid`, `struct file.f_path.dentry`.
    pub target: String,
}

/// The name of a relocation kind, as libbpf's log spells it.
pub fn kind_name(kind: u32) -> &'static str {
    match kind {
        0 => "byte_off",
        1 => "byte_sz",
        2 => "field_exists",
        3 => "signed",
        4 => "lshift_u64",
        5 => "rshift_u64",
        6 => "local_type_id",
        7 => "target_type_id",
        8 => "type_exists",
        9 => "type_size",
        10 => "enumval_exists",
        11 => "enumval_value",
        12 => "type_matches",
        _ => "unknown",
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// The value a relocated instruction carries: the immediate of an ALU instruction or of a
/// 64-bit load (two slots: `next` is the second one's immediate), the offset of a memory
/// access. `insn` is the 8-byte instruction.
pub fn insn_value(insn: [u8; 8], next: Option<[u8; 8]>) -> i64 {
    let code = insn[0];
    let off = i16::from_le_bytes([insn[2], insn[3]]);
    let imm = i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
    match code & 7 {
        // BPF_LD | BPF_IMM | BPF_DW: a 64-bit constant in two slots.
        0 if code == 0x18 => {
            let hi = next.map_or(0, |n| u32::from_le_bytes([n[4], n[5], n[6], n[7]]));
            (u64::from(imm as u32) | u64::from(hi) << 32) as i64
        }
        // LDX, ST, STX: the offset of the access.
        1..=3 => i64::from(off),
        _ => i64::from(imm),
    }
}

/// The types of a BTF blob, enough to name relocation targets.
struct Btf<'a> {
    /// Per type id (0 is void): offset of its `struct btf_type` in `types`.
    at: Vec<usize>,
    types: &'a [u8],
    strings: &'a [u8],
}

impl<'a> Btf<'a> {
    fn parse(b: &'a [u8]) -> Option<Btf<'a>> {
        if u16_at(b, 0)? != 0xeb9f {
            return None;
        }
        let hdr = u32_at(b, 4)? as usize;
        let (type_off, type_len) = (u32_at(b, 8)? as usize, u32_at(b, 12)? as usize);
        let (str_off, str_len) = (u32_at(b, 16)? as usize, u32_at(b, 20)? as usize);
        let types = b.get(hdr.checked_add(type_off)?..hdr.checked_add(type_off)?.checked_add(type_len)?)?;
        let strings = b.get(hdr.checked_add(str_off)?..hdr.checked_add(str_off)?.checked_add(str_len)?)?;
        let mut at = vec![0usize];
        let mut pos = 0usize;
        while pos < types.len() {
            at.push(pos);
            let info = u32_at(types, pos + 4)?;
            let vlen = (info & 0xffff) as usize;
            let extra = match (info >> 24) & 0x1f {
                1 | 14 | 17 => 4,
                3 => 12,
                4 | 5 | 15 | 19 => vlen * 12,
                6 | 13 => vlen * 8,
                _ => 0,
            };
            pos = pos.checked_add(12 + extra)?;
        }
        Some(Btf { at, types, strings })
    }

    fn name(&self, off: u32) -> &'a str {
        let rest = self.strings.get(off as usize..).unwrap_or_default();
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("?")
    }

    /// (kind, name offset, size-or-type, offset of the type's record) of type `id`.
    fn get(&self, id: u32) -> Option<(u32, u32, u32, usize)> {
        let pos = *self.at.get(id as usize).filter(|_| id != 0)?;
        Some(((u32_at(self.types, pos + 4)? >> 24) & 0x1f, u32_at(self.types, pos)?, u32_at(self.types, pos + 8)?, pos))
    }

    /// `id` past typedefs and qualifiers.
    fn skip_mods(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.get(id) {
                Some((8..=11 | 18, _, next, _)) => id = next,
                _ => break,
            }
        }
        id
    }

    fn type_name(&self, id: u32) -> String {
        match self.get(id) {
            Some((4, n, ..)) => format!("struct {}", self.name(n)),
            Some((5, n, ..)) => format!("union {}", self.name(n)),
            Some((6 | 19, n, ..)) => format!("enum {}", self.name(n)),
            Some((_, n, ..)) if n != 0 => self.name(n).to_string(),
            _ => format!("type {id}"),
        }
    }

    /// The C spelling of relocation `kind` on type `id` with access string `spec` ("0:3:1").
    fn describe(&self, id: u32, spec: &str, kind: u32) -> String {
        let idx: Vec<u32> = spec.split(':').filter_map(|s| s.parse().ok()).collect();
        let mut out = self.type_name(id);
        match kind {
            10 | 11 => {
                // The enumerator at index idx[0].
                if let (Some((kind @ (6 | 19), ..)), Some(&i)) = (self.get(self.skip_mods(id)), idx.first()) {
                    let pos = self.get(self.skip_mods(id)).map_or(0, |t| t.3);
                    let size = if kind == 6 { 8 } else { 12 };
                    if let Some(n) = u32_at(self.types, pos + 12 + i as usize * size) {
                        out = format!("{out}::{}", self.name(n));
                    }
                }
                out
            }
            0..=5 => {
                if let Some(&first) = idx.first().filter(|&&i| i != 0) {
                    out.push_str(&format!("[{first}]"));
                }
                let mut t = id;
                for &i in idx.iter().skip(1) {
                    t = self.skip_mods(t);
                    match self.get(t) {
                        Some((4 | 5, _, _, pos)) => {
                            let m = pos + 12 + i as usize * 12;
                            let name = u32_at(self.types, m).map_or("?", |n| self.name(n));
                            out.push_str(&if name.is_empty() { ".(anon)".to_string() } else { format!(".{name}") });
                            t = u32_at(self.types, m + 4).unwrap_or(0);
                        }
                        Some((3, _, _, pos)) => {
                            out.push_str(&format!("[{i}]"));
                            t = u32_at(self.types, pos + 12).unwrap_or(0);
                        }
                        _ => break,
                    }
                }
                out
            }
            _ => out,
        }
    }
}

/// The function symbols of the object: (section index, start byte, name), for finding the
/// program an instruction belongs to.
fn functions(elf: &Elf) -> Vec<(usize, u64, String)> {
    elf.syms
        .iter()
        .filter(|s| s.st_type() == goblin::elf::sym::STT_FUNC)
        .filter_map(|s| Some((s.st_shndx, s.st_value, elf.strtab.get_at(s.st_name)?.to_string())))
        .collect()
}

/// Every CO-RE relocation of `object`, in `.BTF.ext` order.
pub fn core_relocations(object: &[u8]) -> Vec<CoreReloc> {
    read(object).unwrap_or_default()
}

fn read(object: &[u8]) -> Option<Vec<CoreReloc>> {
    let elf = Elf::parse(object).ok()?;
    let section = |name: &str| {
        let sh = elf.section_headers.iter().find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(name))?;
        object.get(sh.sh_offset as usize..(sh.sh_offset as usize).checked_add(sh.sh_size as usize)?)
    };
    let (btf, ext) = (Btf::parse(section(".BTF")?)?, section(".BTF.ext")?);
    if u16_at(ext, 0)? != 0xeb9f || u32_at(ext, 4)? < 32 {
        return Some(Vec::new());
    }
    let hdr = u32_at(ext, 4)? as usize;
    let start = hdr.checked_add(u32_at(ext, 24)? as usize)?;
    let data = ext.get(start..start.checked_add(u32_at(ext, 28)? as usize)?)?;
    let rec = u32_at(data, 0)? as usize;
    if rec < 16 {
        return None;
    }
    let funcs = functions(&elf);
    let mut out = Vec::new();
    let mut at = 4usize;
    while at < data.len() {
        let sec_name = btf.name(u32_at(data, at)?);
        let count = u32_at(data, at + 4)? as usize;
        let shndx = elf.section_headers.iter().position(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(sec_name));
        at += 8;
        for _ in 0..count {
            let (insn_off, type_id, spec, kind) =
                (u32_at(data, at)?, u32_at(data, at + 4)?, u32_at(data, at + 8)?, u32_at(data, at + 12)?);
            at = at.checked_add(rec)?;
            // The function containing the instruction: the last one starting at or before it.
            let func = funcs
                .iter()
                .filter(|(sec, start, _)| Some(*sec) == shndx && *start <= u64::from(insn_off))
                .max_by_key(|(_, start, _)| *start);
            let (program, insn) = match func {
                Some((_, start, name)) => (name.clone(), (u64::from(insn_off) - start) as usize / 8),
                None => (sec_name.to_string(), insn_off as usize / 8),
            };
            out.push(CoreReloc { program, insn, kind, target: btf.describe(type_id, btf.name(spec), kind) });
        }
    }
    Some(out)
}

/// The instructions of program `name` as the object has them (before relocation).
pub fn object_insns(object: &[u8], name: &str) -> Option<Vec<[u8; 8]>> {
    let elf = Elf::parse(object).ok()?;
    let sym = elf.syms.iter().find(|s| s.st_type() == goblin::elf::sym::STT_FUNC && elf.strtab.get_at(s.st_name) == Some(name))?;
    let sh = elf.section_headers.get(sym.st_shndx)?;
    let start = usize::try_from(sh.sh_offset.checked_add(sym.st_value)?).ok()?;
    let bytes = object.get(start..start.checked_add(usize::try_from(sym.st_size).ok()?)?)?;
    Some(bytes.chunks_exact(8).filter_map(|c| c.try_into().ok()).collect())
}

/// One line per relocation for `btc run -v`: the value in the object and the value loaded
/// (`loaded(program)` gives a program's instructions as libbpf loaded them).
pub fn applied(object: &[u8], target: &str, loaded: &dyn Fn(&str) -> Option<Vec<[u8; 8]>>) -> String {
    let relocs = core_relocations(object);
    if relocs.is_empty() {
        return String::new();
    }
    let mut out = format!("CO-RE relocations against {target}:\n");
    let value = |insns: &[[u8; 8]], i: usize| insns.get(i).map(|&x| insn_value(x, insns.get(i + 1).copied()));
    for r in &relocs {
        let before = object_insns(object, &r.program).and_then(|v| value(&v, r.insn));
        let after = loaded(&r.program).and_then(|v| value(&v, r.insn));
        let show = |v: Option<i64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
        out.push_str(&format!(
            "  {} insn {}: {} {}: {} -> {}\n",
            r.program,
            r.insn,
            kind_name(r.kind),
            r.target,
            show(before),
            show(after)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_relocated_instructions() {
        // r1 = 0x4f0 (ALU64 MOV imm), r1 = *(u32 *)(r2 + 16) (LDX), r1 = 0x1_0000_0002 ll.
        assert_eq!(insn_value([0xb7, 0x01, 0, 0, 0xf0, 0x04, 0, 0], None), 0x4f0);
        assert_eq!(insn_value([0x61, 0x21, 16, 0, 0, 0, 0, 0], None), 16);
        assert_eq!(insn_value([0x18, 0x01, 0, 0, 2, 0, 0, 0], Some([0, 0, 0, 0, 1, 0, 0, 0])), 0x1_0000_0002);
    }

    #[test]
    fn names_fields_by_access_string() {
        // Types: 1 int, 2 struct inner { int x; int y; }, 3 struct outer { int a; struct inner in; }.
        let mut strings = b"\0int\0inner\0x\0y\0outer\0a\0in\0".to_vec();
        strings.push(0);
        let name = |s: &str| strings.windows(s.len() + 2).position(|w| w[0] == 0 && &w[1..=s.len()] == s.as_bytes() && w[s.len() + 1] == 0).map_or(0, |p| p as u32 + 1);
        let mut types = Vec::new();
        let mut ty = |words: &[u32]| words.iter().for_each(|w| types.extend(w.to_le_bytes()));
        ty(&[name("int"), 1 << 24, 4, 32]);
        ty(&[name("inner"), 4 << 24 | 2, 8, name("x"), 1, 0, name("y"), 1, 32]);
        ty(&[name("outer"), 4 << 24 | 2, 12, name("a"), 1, 0, name("in"), 2, 32]);
        let mut btf = vec![0x9f, 0xeb, 1, 0];
        for w in [24u32, 0, types.len() as u32, types.len() as u32, strings.len() as u32] {
            btf.extend(w.to_le_bytes());
        }
        btf.extend(&types);
        btf.extend(&strings);
        let b = Btf::parse(&btf).expect("parses");
        assert_eq!(b.describe(3, "0:1:1", 0), "struct outer.in.y");
        assert_eq!(b.describe(3, "0:0", 1), "struct outer.a");
        assert_eq!(b.describe(2, "0", 9), "struct inner");
    }
}
