use super::*;

/// Builds small BTF blobs by hand.
#[derive(Default)]
pub(crate) struct Builder {
    types: Vec<u8>,
    strs: Vec<u8>,
    next_id: u32,
}

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder { types: Vec::new(), strs: vec![0], next_id: 1 }
    }

    fn name(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(s.as_bytes());
        self.strs.push(0);
        off
    }

    fn push(&mut self, name: &str, kind: u32, vlen: u32, kind_flag: bool, size_or_type: u32, extra: &[u32]) -> u32 {
        let n = self.name(name);
        let info = (u32::from(kind_flag) << 31) | (kind << 24) | vlen;
        for v in [n, info, size_or_type].iter().chain(extra) {
            self.types.extend_from_slice(&v.to_le_bytes());
        }
        self.next_id += 1;
        self.next_id - 1
    }

    pub(crate) fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let enc = u32::from(signed) | if name.contains("char") { 2 } else { 0 };
        self.push(name, 1, 0, false, size, &[(enc << 24) | (size * 8)])
    }

    pub(crate) fn ptr(&mut self, to: u32) -> u32 {
        self.push("", 2, 0, false, to, &[])
    }

    pub(crate) fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        self.push("", 3, 0, false, 0, &[elem, index, n])
    }

    /// Members as (name, type, bit offset, bitfield size).
    pub(crate) fn record(&mut self, union: bool, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
        let kind_flag = members.iter().any(|m| m.3 != 0);
        let mut extra = Vec::new();
        for (n, t, off, bits) in members {
            extra.push(self.name(n));
            extra.push(*t);
            extra.push(if kind_flag { (bits << 24) | off } else { *off });
        }
        self.push(name, if union { 5 } else { 4 }, members.len() as u32, kind_flag, size, &extra)
    }

    pub(crate) fn typedef(&mut self, name: &str, to: u32) -> u32 {
        self.push(name, 8, 0, false, to, &[])
    }

    pub(crate) fn fwd(&mut self, name: &str) -> u32 {
        self.push(name, 7, 0, false, 0, &[])
    }

    pub(crate) fn enumeration(&mut self, name: &str, values: &[(&str, i32)]) -> u32 {
        let mut extra = Vec::new();
        for (n, v) in values {
            extra.push(self.name(n));
            extra.push(*v as u32);
        }
        self.push(name, 6, values.len() as u32, true, 4, &extra)
    }

    pub(crate) fn func(&mut self, name: &str, ret: u32, params: &[(&str, u32)]) -> u32 {
        let mut extra = Vec::new();
        for (n, t) in params {
            extra.push(self.name(n));
            extra.push(*t);
        }
        let proto = self.push("", 13, params.len() as u32, false, ret, &extra);
        self.push(name, 12, 0, false, proto, &[])
    }

    pub(crate) fn finish(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.push(1);
        out.push(0);
        for v in [24u32, 0, self.types.len() as u32, self.types.len() as u32, self.strs.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strs);
        out
    }
}

/// struct task { int pid; unsigned flags:3; int sflag:2; struct task *parent; char comm[16];
///               union { long a; int b; }; struct mm *mm; }
fn sample() -> Btf {
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    let uint = b.int("unsigned int", 4, false);
    let chr = b.int("char", 1, true);
    let long = b.int("long", 8, true);
    let pid_t = b.typedef("pid_t", int);
    let fwd_task = b.fwd("task");
    let task_ptr = b.ptr(fwd_task);
    let idx = b.int("__ARRAY_SIZE_TYPE__", 4, false);
    let comm = b.array(chr, idx, 16);
    let anon = b.record(true, "", 8, &[("a", long, 0, 0), ("b", int, 0, 0)]);
    let mm_fwd = b.fwd("mm");
    let mm_ptr = b.ptr(mm_fwd);
    b.record(
        false,
        "task",
        48,
        &[
            ("pid", pid_t, 0, 0),
            ("flags", uint, 32, 3),
            ("sflag", int, 35, 2),
            ("parent", task_ptr, 64, 0),
            ("comm", comm, 128, 0),
            ("", anon, 256, 0),
            ("mm", mm_ptr, 320, 0),
        ],
    );
    b.enumeration("state", &[("RUNNING", 0), ("STOPPED", -4)]);
    b.func("do_thing", int, &[("t", task_ptr), ("n", long)]);
    Btf::parse(b.finish(), None).expect("valid blob")
}

#[test]
fn parses_hand_made_blob() {
    let btf = sample();
    let id = btf.find("task", &[Kind::Struct]).expect("task");
    let t = btf.get(id).expect("type");
    assert_eq!((t.kind, t.size_or_type), (Kind::Struct, 48));
    let r = btf.record(id, 0).expect("record");
    let names: Vec<_> = r.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["pid", "flags", "sflag", "parent", "comm", "", "mm"]);
    assert_eq!(r.fields[0].ty, Type::Int { bits: 32, signed: true });
    assert_eq!(r.fields[1].bitfield, Some(Bitfield { shift: 0, bits: 3 }));
    assert_eq!(r.fields[1].offset, 4);
    assert_eq!(r.fields[2].bitfield, Some(Bitfield { shift: 3, bits: 2 }));
    assert!(r.fields[2].ty.is_signed());
    assert_eq!(r.fields[4].ty, Type::Str { len: 16 });
    assert_eq!((r.fields[4].offset, r.fields[6].offset), (16, 40));
    // The pointer to the forward-declared struct is a lazy reference by name.
    let Type::Ptr { pointee, user: false } = &r.fields[3].ty else { panic!("not a kernel pointer") };
    let Type::Struct(s) = &**pointee else { panic!("not a struct") };
    assert_eq!((s.name.as_str(), s.record().is_none()), ("task", true));
    // The anonymous union comes resolved.
    let Type::Struct(u) = &r.fields[5].ty else { panic!("anonymous member") };
    assert_eq!(u.kind, RecordKind::Union);
    assert_eq!(u.record().map(|r| r.fields.len()), Some(2));
}

#[test]
fn forward_declarations_lose_to_definitions() {
    let btf = sample();
    let id = btf.find("task", &[Kind::Struct, Kind::Fwd]).expect("task");
    assert_eq!(btf.get(id).map(|t| t.kind), Some(Kind::Struct));
    let mm = btf.find("mm", &[Kind::Struct, Kind::Fwd]).expect("mm");
    assert_eq!(btf.get(mm).map(|t| t.kind), Some(Kind::Fwd));
}

#[test]
fn lookups_keep_to_the_kinds_asked_for() {
    // One name for a typedef, a struct and a function: each lookup finds its own kind, and a
    // lookup over kinds of several index groups finds the first definition by id.
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    let td = b.typedef("thing", int);
    let st = b.record(false, "thing", 4, &[("a", int, 0, 0)]);
    b.func("thing", int, &[]);
    b.fwd("other");
    let other = b.record(false, "other", 4, &[("b", int, 0, 0)]);
    let btf = Btf::parse(b.finish(), None).expect("valid blob");
    // The first lookups of each group scan, the later ones use its index: same answers.
    for _ in 0..=SCANS_BEFORE_INDEX {
        assert_eq!(btf.find("thing", &[Kind::Struct, Kind::Fwd]), Some(st));
        assert_eq!(btf.find("thing", &[Kind::Typedef, Kind::Int]), Some(td));
        assert_eq!(btf.find("thing", &[Kind::Struct, Kind::Typedef]), Some(td));
        assert!(btf.find("thing", &[Kind::Func]).is_some_and(|id| id > st));
        assert_eq!(btf.find("thing", &[Kind::Enum]), None);
        assert_eq!(btf.find("other", &[Kind::Struct, Kind::Fwd]), Some(other));
        assert_eq!(btf.find("othe", &[Kind::Struct, Kind::Fwd]), None);
        assert_eq!(btf.find("", &[Kind::Struct, Kind::Fwd]), None);
    }
    assert!(btf.index[0].get().is_some() && btf.index[3].get().is_some());
    let mut names: Vec<_> = btf.names_of(&[Kind::Struct, Kind::Typedef]).collect();
    names.sort_unstable();
    assert_eq!(names, ["other", "thing", "thing"]);
}

#[test]
fn enums_and_functions() {
    let btf = sample();
    let id = btf.find("state", &[Kind::Enum]).expect("enum");
    let t = btf.get(id).expect("type");
    assert_eq!(btf.enumerators(&t), vec![("RUNNING", 0), ("STOPPED", -4)]);
    assert_eq!(btf.to_type(id, 0), Type::Int { bits: 32, signed: true });
    let (params, ret) = btf.function("do_thing", 0).expect("func");
    assert_eq!(params.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), ["t", "n"]);
    assert_eq!(params[1].1, Type::I64);
    assert_eq!(ret, Type::Int { bits: 32, signed: true });
    assert_eq!(btf.function_names().collect::<Vec<_>>(), ["do_thing"]);
}

#[test]
fn split_btf_continues_ids_and_strings() {
    let base = Rc::new(sample());
    let base_count = base.count();
    // A module blob: its own string table and ids after the base's.
    let mut b = Builder::new();
    b.next_id = base_count;
    let mut blob = {
        b.record(false, "modstruct", 8, &[("x", 1, 0, 0)]);
        b.finish()
    };
    // Shift the module's string offsets past the base's string section.
    let shift = base.first_str + base.str_len as u32;
    let name_off = u32_at(&blob, 24).expect("name") + shift;
    blob[24..28].copy_from_slice(&name_off.to_le_bytes());
    let mname = u32_at(&blob, 36).expect("member name") + shift;
    blob[36..40].copy_from_slice(&mname.to_le_bytes());
    let m = Btf::parse(blob, Some(base)).expect("split");
    let id = m.find("modstruct", &[Kind::Struct]).expect("found");
    assert_eq!(id, base_count);
    let r = m.record(id, 1).expect("record");
    assert_eq!(r.fields[0].name, "x");
    // Type 1 (int) comes from the base.
    assert_eq!(r.fields[0].ty, Type::Int { bits: 32, signed: true });
}

#[test]
fn bad_blobs_are_errors_not_panics() {
    assert_eq!(Btf::parse(vec![], None).err(), Some(BtfError::Truncated("header")));
    assert_eq!(Btf::parse(vec![0; 32], None).err(), Some(BtfError::Magic));
    let mut good = sample_bytes();
    good.truncate(good.len() - 40);
    assert!(Btf::parse(good, None).is_err());
    // Every truncation and every single-byte corruption parses or fails cleanly.
    let bytes = sample_bytes();
    for n in 0..bytes.len() {
        let _ = Btf::parse(bytes[..n].to_vec(), None);
        let mut c = bytes.clone();
        c[n] ^= 0xff;
        if let Ok(b) = Btf::parse(c, None) {
            for id in b.ids() {
                let _ = b.to_type(id, 0);
                let _ = b.record(id, 0);
            }
        }
    }
}

fn sample_bytes() -> Vec<u8> {
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    let p = b.ptr(int);
    b.record(false, "s", 16, &[("a", int, 0, 0), ("p", p, 64, 0)]);
    b.finish()
}

/// The running kernel's BTF, when the test machine has one.
fn vmlinux() -> Option<Btf> {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
    Some(Btf::parse(bytes, None).expect("vmlinux BTF parses"))
}

#[test]
fn real_vmlinux() {
    // CI runs on a kernel with BTF; its absence must fail loudly, not skip.
    let btf = vmlinux().expect("/sys/kernel/btf/vmlinux is readable");
    assert!(btf.count() > 10_000);
    let id = btf.find("task_struct", &[Kind::Struct]).expect("task_struct");
    let r = btf.record(id, 0).expect("record");
    let pid = r.field("pid").expect("pid");
    assert_eq!(pid.ty, Type::Int { bits: 32, signed: true });
    assert!(matches!(r.field("comm").map(|f| &f.ty), Some(Type::Str { len: 16 })));
    let Some(Type::Ptr { pointee, .. }) = r.field("real_parent").map(|f| &f.ty) else { panic!("real_parent") };
    assert!(matches!(&**pointee, Type::Struct(s) if s.name == "task_struct"));
    // Every struct of the kernel converts without panicking.
    for id in btf.ids() {
        if btf.get(id).is_some_and(|t| t.kind == Kind::Struct) {
            assert!(btf.record(id, 0).is_some());
        }
    }
    assert!(btf.function("vfs_read", 0).is_some_and(|(p, _)| p.len() == 4));
}

#[test]
fn vmlinux_scans_and_indexes_agree() {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux is readable");
    let indexed = Btf::parse(bytes.clone(), None).expect("vmlinux BTF parses");
    for g in 0..GROUPS {
        let _ = indexed.index(g);
    }
    let kinds: &[&[Kind]] = &[
        &[Kind::Struct, Kind::Fwd],
        &[Kind::Union, Kind::Fwd],
        &[Kind::Typedef, Kind::Int],
        &[Kind::Enum, Kind::Enum64],
        &[Kind::Func],
    ];
    let all = [Kind::Struct, Kind::Union, Kind::Typedef, Kind::Enum, Kind::Func];
    let names: Vec<String> = indexed.names_of(&all).step_by(397).map(str::to_string).collect();
    assert!(names.len() > 100, "{}", names.len());
    for name in names.iter().map(String::as_str).chain(["task_struct", "tcp_sock", "pid_t", "vfs_read", "no_such_x"]) {
        // A fresh blob per name: each of its lookups (at most two per group) scans.
        let fresh = Btf::parse(bytes.clone(), None).expect("vmlinux BTF parses");
        for k in kinds {
            assert_eq!(fresh.find(name, k), indexed.find(name, k), "{name} {k:?}");
        }
        assert!(fresh.index.iter().all(|i| i.get().is_none()));
    }
}
