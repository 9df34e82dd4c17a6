use super::*;
use btc_bpfprog::runtime::stack_map_name;

struct FakeSyms;

impl Symbolize for FakeSyms {
    fn kernel(&mut self, addr: u64) -> Option<Sym> {
        (addr >= 0xffff_0000).then(|| Sym { name: "do_sys".into(), offset: addr - 0xffff_0000, module: None })
    }
    fn user(&mut self, pid: u32, addr: u64) -> Option<Sym> {
        (pid == 7 && addr < 0x1000).then(|| Sym { name: "main".into(), offset: addr, module: Some("/bin/p".into()) })
    }
    fn cgroup_path(&mut self, id: u64, _filter: Option<&str>) -> String {
        format!("unified:/c{id}")
    }
    fn username(&mut self, uid: u32) -> String {
        passwd_name("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n", uid).unwrap_or("").into()
    }
}

struct FakeStacks;

impl StackSource for FakeStacks {
    fn stack(&self, _map: &str, id: u32) -> Option<Vec<u64>> {
        match id {
            1 => Some(vec![0xffff_0010, 0xffff_0020, 0x5, 0, 0]),
            2 => Some(vec![0x10, 0x2000, 0]),
            _ => None,
        }
    }
}

fn resolver() -> Resolver {
    Resolver::new(Box::new(FakeSyms), 0)
}

fn text(ty: RuntimeTy, words: &[u64], place: Place) -> String {
    let raw: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    resolver().text(&ty, &raw, place, &FakeStacks)
}

fn kstack(mode: StackMode, limit: u32) -> RuntimeTy {
    RuntimeTy::Kstack { map: stack_map_name(limit), mode, limit }
}

#[test]
fn symbols_and_fallbacks() {
    assert_eq!(text(RuntimeTy::Ksym, &[0xffff_0004], Place::Value), "do_sys");
    assert_eq!(text(RuntimeTy::Ksym, &[0x10], Place::Value), "0x10");
    assert_eq!(text(RuntimeTy::Usym, &[0x10, 7], Place::Value), "main");
    assert_eq!(text(RuntimeTy::Usym, &[0x10, 8], Place::Value), "0x10");
}

#[test]
fn kernel_stacks_in_each_mode_and_place() {
    // Checked against bpftrace 0.17: 8 spaces in values, 4 in map keys, tab + hex in perf mode.
    assert_eq!(text(kstack(StackMode::Bpftrace, 127), &[1], Place::Value), "\n        do_sys+16\n        do_sys+32\n        0x5\n");
    assert_eq!(text(kstack(StackMode::Bpftrace, 2), &[1], Place::Key), "\n    do_sys+16\n    do_sys+32\n");
    assert_eq!(text(kstack(StackMode::Perf, 1), &[1], Place::Value), "\n\tffff0010 do_sys+16\n");
    assert_eq!(text(kstack(StackMode::Raw, 127), &[1], Place::Value), "\nffff0010\nffff0020\n5\n");
    // A failed bpf_get_stackid (negative id) or an unknown id prints nothing.
    assert_eq!(text(kstack(StackMode::Bpftrace, 127), &[(-14i64) as u64], Place::Value), "");
    assert_eq!(text(kstack(StackMode::Bpftrace, 127), &[9], Place::Value), "");
}

#[test]
fn user_stacks_show_modules_in_perf_mode() {
    let ty = RuntimeTy::Ustack { map: stack_map_name(127), mode: StackMode::Perf, limit: 127 };
    assert_eq!(text(ty, &[2, 7], Place::Value), "\n\t10 main+16 (/bin/p)\n\t2000 0x2000 ([unknown])\n");
    let ty = RuntimeTy::Ustack { map: stack_map_name(127), mode: StackMode::Bpftrace, limit: 127 };
    assert_eq!(text(ty, &[2, 7], Place::Value), "\n        main+16\n        0x2000\n");
}

#[test]
fn addresses_errors_and_cgroups() {
    let mut raw = vec![0u8; 24];
    raw[0] = 2;
    raw[8..12].copy_from_slice(&[127, 0, 0, 1]);
    assert_eq!(resolver().text(&RuntimeTy::Inet, &raw, Place::Value, &FakeStacks), "127.0.0.1");
    raw[0] = 10;
    raw[8..24].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    assert_eq!(resolver().text(&RuntimeTy::Inet, &raw, Place::Value, &FakeStacks), "::1");
    let mac = [0x18u8, 0xc0, 0x4d, 0x08, 0x2e, 0xbb, 0, 0];
    assert_eq!(resolver().text(&RuntimeTy::MacAddr, &mac, Place::Value, &FakeStacks), "18:C0:4D:08:2E:BB");
    assert_eq!(text(RuntimeTy::Strerror, &[2], Place::Value), "No such file or directory");
    assert_eq!(text(RuntimeTy::CgroupPath { filter: None }, &[5], Place::Value), "unified:/c5");
}

#[test]
fn resolve_reaches_into_tuples() {
    let raw = 0xffff_0001u64.to_le_bytes().to_vec();
    let mut v = Value::Tuple(vec![Value::Str(b"x".to_vec()), Value::Runtime(RuntimeTy::Ksym, raw)]);
    resolver().resolve(&mut v, Place::Key, &FakeStacks);
    assert_eq!(v, Value::Tuple(vec![Value::Str(b"x".to_vec()), Value::Str(b"do_sys".to_vec())]));
}

#[test]
fn usernames_from_passwd() {
    let passwd = "# comment\nroot:x:0:0:root:/root:/bin/bash\nbob:x:10:10::/:/bin/sh\nbad line\nbob2:x:10:10::/:/bin/sh\n";
    assert_eq!(passwd_name(passwd, 0), Some("root"));
    // The first entry with the id wins.
    assert_eq!(passwd_name(passwd, 10), Some("bob"));
    assert_eq!(passwd_name(passwd, 1), None);
    assert_eq!(text(RuntimeTy::Username, &[1000], Place::Value), "alice");
    // An id without a name prints as nothing, as in bpftrace.
    assert_eq!(text(RuntimeTy::Username, &[4242], Place::Value), "");
}

#[test]
fn site_names_are_found_by_cookie() {
    let mut r = resolver();
    r.set_site_names(vec!["uprobe:/proc/7/exe:f".into(), "uprobe:/proc/7/exe:g".into()]);
    let name = |cookie: u64| r.text(&RuntimeTy::SiteName, &cookie.to_le_bytes(), Place::Value, &FakeStacks);
    assert_eq!((name(1).as_str(), name(0).as_str(), name(9).as_str()), ("uprobe:/proc/7/exe:g", "uprobe:/proc/7/exe:f", ""));
}
