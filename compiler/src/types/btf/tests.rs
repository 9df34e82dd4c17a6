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

    pub(crate) fn name(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(s.as_bytes());
        self.strs.push(0);
        off
    }

    pub(crate) fn push(&mut self, name: &str, kind: u32, vlen: u32, kind_flag: bool, size_or_type: u32, extra: &[u32]) -> u32 {
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
    let bytes = b.finish();
    // Lookups that scan and lookups through the indexes give the same answers, asked once or
    // again (the second time from what the first found).
    let scanned = Btf::parse(bytes.clone(), None).expect("valid blob");
    let indexed = Btf::parse(bytes, None).expect("valid blob");
    for g in 0..GROUPS {
        let _ = indexed.index(g);
    }
    for btf in [&scanned, &indexed] {
        for _ in 0..2 {
            assert_eq!(btf.find("thing", &[Kind::Struct, Kind::Fwd]), Some(st));
            assert_eq!(btf.find("thing", &[Kind::Typedef, Kind::Int]), Some(td));
            assert_eq!(btf.find("thing", &[Kind::Struct, Kind::Typedef]), Some(td));
            assert!(btf.find("thing", &[Kind::Func]).is_some_and(|id| id > st));
            assert_eq!(btf.find("thing", &[Kind::Enum]), None);
            assert_eq!(btf.find("other", &[Kind::Struct, Kind::Fwd]), Some(other));
            assert_eq!(btf.find("othe", &[Kind::Struct, Kind::Fwd]), None);
            assert_eq!(btf.find("", &[Kind::Struct, Kind::Fwd]), None);
        }
    }
    // A name asked for again is not searched for again, found or not: the struct group has
    // scanned for "thing", "other" and "othe" only.
    assert!(scanned.index.iter().all(|i| i.get().is_none()));
    assert_eq!((scanned.scans[0].get(), scanned.scans[3].get()), (3, 1));
    let btf = scanned;
    // Past SCANS_BEFORE_INDEX different names, a group's lookups go through its index.
    for k in 1..SCANS_BEFORE_INDEX {
        assert_eq!(btf.find(&format!("none{k}"), &[Kind::Func]), None);
    }
    assert!(btf.index[3].get().is_none());
    assert!(btf.find("thing", &[Kind::Func]).is_some_and(|id| id > st));
    assert_eq!(btf.find("none_more", &[Kind::Func]), None);
    assert!(btf.index[3].get().is_some());
    let mut names: Vec<_> = btf.names_of(&[Kind::Struct, Kind::Typedef]).collect();
    names.sort_unstable();
    assert_eq!(names, ["other", "thing", "thing"]);
}

#[test]
fn enumerators_by_name() {
    // Two enums share a name (the first by id wins), one is 64-bit, and names are stored more
    // than once (the builder doesn't share strings) or also name a struct.
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    b.record(false, "B", 4, &[("A", int, 0, 0)]);
    b.enumeration("first", &[("A", 1), ("B", -2)]);
    b.enumeration("second", &[("B", 5), ("C", 3)]);
    let n = [b.name("D"), b.name("E")];
    b.push("wide", 19, 2, true, 8, &[n[0], 7, 1, n[1], u32::MAX, u32::MAX]);
    let btf = Btf::parse(b.finish(), None).expect("valid blob");
    for name in ["A", "B", "C", "D", "E", "F", "", "int", "first"] {
        assert_eq!(btf.enumerator(name), btf.enumerator_by_text(name), "{name}");
    }
    assert_eq!(btf.enumerator("B"), Some(-2));
    assert_eq!(btf.enumerator("C"), Some(3));
    assert_eq!(btf.enumerator("D"), Some((1 << 32) | 7));
    assert_eq!(btf.enumerator("E"), Some(-1));
    assert_eq!(btf.enumerator("first"), None);
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

#[test]
fn vmlinux_enumerators_by_offset_and_by_text_agree() {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux is readable");
    let btf = Btf::parse(bytes, None).expect("vmlinux BTF parses");
    let mut names: Vec<String> = btf
        .ids_of(group(Kind::Enum))
        .filter_map(|id| btf.get(id))
        .flat_map(|t| btf.enumerators(&t).into_iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>())
        .step_by(211)
        .collect();
    assert!(names.len() > 50, "{}", names.len());
    names.extend(["TCP_SYN_SENT", "TASK_RUNNING", "task_struct", "no_such_enumerator"].map(String::from));
    for name in &names {
        assert_eq!(btf.enumerator(name), btf.enumerator_by_text(name), "{name}");
    }
    assert!(btf.enumerator("TCP_SYN_SENT").is_some());
}

/// Everything a lookup can tell of `name`, to compare blobs parsed with and without an index.
fn answers(btf: &Btf, name: &str) -> String {
    let kinds: &[&[Kind]] = &[
        &[Kind::Struct, Kind::Fwd],
        &[Kind::Union, Kind::Fwd],
        &[Kind::Struct, Kind::Union, Kind::Fwd],
        &[Kind::Typedef, Kind::Int],
        &[Kind::Enum, Kind::Enum64],
        &[Kind::Func],
    ];
    let found: Vec<Option<u32>> = kinds.iter().map(|k| btf.find(name, k)).collect();
    let records: Vec<Option<usize>> =
        found.iter().map(|id| id.and_then(|id| btf.record(id, 0)).map(|r| r.fields.len())).collect();
    format!("{found:?} {records:?} {:?} {:?}", btf.enumerator(name), btf.function(name, 0).map(|f| f.0.len()))
}

#[test]
fn stored_index_gives_the_same_answers() {
    let mut b = Builder::new();
    let int = b.int("int", 4, true);
    b.fwd("s");
    b.record(false, "s", 4, &[("a", int, 0, 0)]);
    b.typedef("s_t", int);
    b.enumeration("e", &[("X", 1), ("Y", 2)]);
    b.enumeration("f", &[("Y", 3), ("Z", 4)]);
    b.func("fn1", int, &[("a", int)]);
    let bytes = b.finish();
    let plain = Btf::parse(bytes.clone(), None).expect("valid blob");
    let index = plain.index_bytes();
    let (indexed, used) = Btf::parse_indexed(bytes.clone(), BtfBytes::from(index.clone())).expect("valid blob");
    assert!(used);
    assert!(indexed.index[..LISTED].iter().all(|i| i.get().is_some()) && indexed.enums.get().is_some());
    for name in ["s", "s_t", "e", "f", "X", "Y", "Z", "fn1", "int", "a", "nothing", ""] {
        assert_eq!(answers(&indexed, name), answers(&plain, name), "{name}");
    }
    assert_eq!(indexed.enumerator("Y"), Some(2));
    // Nothing was searched for: every answer came from the stored tables.
    assert!(indexed.scans[..LISTED].iter().all(|s| s.get() == 0));
    // Split BTF has no index of its own.
    let base = Rc::new(plain);
    let mut m = Builder::new();
    m.next_id = base.count();
    m.int("long", 8, true);
    let split = Btf::parse(m.finish(), Some(base)).expect("valid split blob");
    assert!(split.index_bytes().is_empty());
}

#[test]
fn damaged_or_foreign_indexes_are_refused_or_harmless() {
    let sample_bytes = {
        let mut b = Builder::new();
        let int = b.int("int", 4, true);
        b.record(false, "s", 4, &[("a", int, 0, 0)]);
        b.enumeration("e", &[("X", 1)]);
        b.finish()
    };
    let plain = Btf::parse(sample_bytes.clone(), None).expect("valid blob");
    let index = plain.index_bytes();
    let names = ["s", "e", "X", "int", "nothing"];
    let expect: Vec<String> = names.iter().map(|n| answers(&plain, n)).collect();
    // Cut short, or with a wrong header word: refused, and the blob is parsed as usual.
    let mut refused: Vec<Vec<u8>> = (0..index.len()).step_by(3).map(|n| index[..n].to_vec()).collect();
    for w in 0..8 {
        let mut bad = index.clone();
        bad[4 * w] ^= 1;
        refused.push(bad);
    }
    // An index of another blob (one more type).
    let mut other = Builder::new();
    other.int("int", 4, true);
    other.int("char", 1, true);
    refused.push(Btf::parse(other.finish(), None).expect("valid blob").index_bytes());
    for bad in refused {
        let (btf, used) = Btf::parse_indexed(sample_bytes.clone(), BtfBytes::from(bad)).expect("valid blob");
        assert!(!used);
        let got: Vec<String> = names.iter().map(|n| answers(&btf, n)).collect();
        assert_eq!(got, expect);
    }
    // Any byte changed past the header: maybe used, never a panic.
    for i in 32..index.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = index.clone();
            bad[i] ^= flip;
            if let Ok((btf, _)) = Btf::parse_indexed(sample_bytes.clone(), BtfBytes::from(bad)) {
                for n in names {
                    let _ = answers(&btf, n);
                }
                let _ = btf.names_of(&[Kind::Struct]).count();
            }
        }
    }
}

#[test]
fn vmlinux_with_its_stored_index_gives_the_same_answers() {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux is readable");
    let plain = Btf::parse(bytes.clone(), None).expect("vmlinux BTF parses");
    let (indexed, used) = Btf::parse_indexed(bytes, BtfBytes::from(plain.index_bytes())).expect("vmlinux BTF parses");
    assert!(used);
    let all = [Kind::Struct, Kind::Union, Kind::Typedef, Kind::Enum, Kind::Func];
    let mut names: Vec<String> = plain.names_of(&all).step_by(601).map(str::to_string).collect();
    let enumerators: Vec<String> = plain
        .ids_of(group(Kind::Enum))
        .filter_map(|id| plain.get(id))
        .flat_map(|t| plain.enumerators(&t).into_iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>())
        .step_by(307)
        .collect();
    assert!(names.len() > 100 && enumerators.len() > 30);
    names.extend(enumerators);
    names.extend(["task_struct", "sock", "tcp_sock", "pid_t", "TCP_SYN_SENT", "vfs_read", "__pthread_internal_list"].map(String::from));
    for name in &names {
        assert_eq!(answers(&indexed, name), answers(&plain, name), "{name}");
    }
    assert_eq!(indexed.names_of(&all).count(), plain.names_of(&all).count());
}

#[test]
fn kernel_function_parameters_as_btf_dump_declares_them() {
    let btf = vmlinux().expect("/sys/kernel/btf/vmlinux is readable");
    assert_eq!(
        btf.function_param_decls("vfs_read").expect("vfs_read"),
        ["struct file * file", "char * buf", "size_t count", "loff_t * pos", "ssize_t retval"]
    );
    // Iterator functions: the meta pointer, the object, an int result.
    let task = btf.function_param_decls("bpf_iter_task").expect("bpf_iter_task");
    assert_eq!(task, ["struct bpf_iter_meta * meta", "struct task_struct * task", "int retval"]);
    assert_eq!(btf.function_param_decls("no_such_function_btc"), None);
}

#[test]
fn declarations_of_every_shape() {
    // Hand-made types: 1 int, 2 char, 3 const char, 4 ptr→3, 5 const→ptr→2 (char *const),
    // 6 ptr→ptr→1 (via 7), 8 array[4] of 1, 9 proto int(ptr to void), 10 ptr→9, 11 void ptr.
    let mut types: Vec<u8> = Vec::new();
    let mut strings: Vec<u8> = b"\0int\0char\0".to_vec();
    let name_int = 1u32;
    let name_char = 5u32;
    let mut push = |name: u32, info: u32, size_or_type: u32, extra: &[u32]| {
        for v in [name, info, size_or_type].iter().chain(extra) {
            types.extend_from_slice(&v.to_le_bytes());
        }
    };
    let kind = |k: u32, vlen: u32| (k << 24) | vlen;
    push(name_int, kind(1, 0), 4, &[(1 << 24) | 32]); // 1: int
    push(name_char, kind(1, 0), 1, &[(1 << 24) | 8]); // 2: char
    push(0, kind(10, 0), 2, &[]); // 3: const char
    push(0, kind(2, 0), 3, &[]); // 4: const char *
    push(0, kind(2, 0), 2, &[]); // 5: char *
    push(0, kind(10, 0), 5, &[]); // 6: char * const
    push(0, kind(2, 0), 8, &[]); // 7: int **
    push(0, kind(2, 0), 1, &[]); // 8: int *
    push(0, kind(3, 0), 0, &[1, 1, 4]); // 9: int [4]
    push(0, kind(2, 0), 0, &[]); // 10: void *
    push(0, kind(13, 1), 1, &[0, 10]); // 11: int (void *)
    push(0, kind(2, 0), 11, &[]); // 12: int (*)(void *)
    strings.push(0);
    let mut blob = Vec::new();
    for v in [0xeb9f_u16.to_le_bytes().to_vec(), vec![1, 0], 24u32.to_le_bytes().to_vec()] {
        blob.extend(v);
    }
    for v in [0u32, types.len() as u32, types.len() as u32, strings.len() as u32] {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    blob.extend(&types);
    blob.extend(&strings);
    let btf = Btf::parse(blob, None).expect("valid BTF");
    assert_eq!(btf.c_decl(4, ""), "const char *");
    assert_eq!(btf.c_decl(6, ""), "char * const");
    assert_eq!(btf.c_decl(7, ""), "int **");
    assert_eq!(btf.c_decl(9, "a"), "int a[4]");
    assert_eq!(btf.c_decl(10, "p"), "void *p");
    assert_eq!(btf.c_decl(12, ""), "int (*)(void *)");
    assert_eq!(btf.c_decl(12, "cb"), "int (*cb)(void *)");
    assert_eq!(btf.c_decl(1, "n"), "int n");
}
