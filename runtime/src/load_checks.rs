//! The checks made before an object is loaded of what it holds that only the compiling machine
//! vouched for (`btc_bpfprog::Portable`): tracepoint argument offsets against this kernel's
//! format files, the kernel build of kprobe offsets, and the user binaries whose addresses it
//! holds. A mismatch is refused with one line naming the thing and what to do; running on
//! would read the wrong memory or trace the wrong place. (`kaddr()` and `cgroupid()` are not
//! checked but looked up at load: `load_values`.)

use btc_bpfprog::portable::{format_fields, Portable};

/// What the running system says, behind a trait so the checks are tested without it.
pub trait SystemFacts {
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<String>;
    fn kernel_build_id(&self) -> Option<String>;
    fn file_identity(&self, path: &str) -> Option<String>;
}

const AGAIN: &str = "compile the script again on this system";

/// Checks `p` against the system; the error is one line.
pub fn check(p: &Portable, sys: &dyn SystemFacts) -> Result<(), String> {
    for tp in &p.tracepoints {
        // A tracepoint this kernel lacks is reported when it is attached.
        let Some(text) = sys.tracepoint_format(&tp.category, &tp.name) else { continue };
        let here = format_fields(&text);
        for f in &tp.fields {
            match here.iter().find(|h| h.name == f.name) {
                None => {
                    return Err(format!(
                        "tracepoint {}:{} has no field {} on this kernel, which the object reads: {AGAIN}",
                        tp.category, tp.name, f.name
                    ))
                }
                Some(h) if h.offset != f.offset || h.size != f.size => {
                    return Err(format!(
                        "tracepoint {}:{}: field {} is at offset {} (size {}) on this kernel, not at offset {} (size {}) as where the object was compiled: {AGAIN}",
                        tp.category, tp.name, f.name, h.offset, h.size, f.offset, f.size
                    ))
                }
                Some(_) => {}
            }
        }
    }
    if let (Some(then), Some(now)) = (&p.kernel_build_id, sys.kernel_build_id()) {
        if *then != now {
            return Err(format!(
                "{} is an offset into the machine code of the kernel the object was compiled on (build ID {then}), and this kernel is another build ({now}): {AGAIN}",
                p.kernel_uses.join(", ")
            ));
        }
    }
    for b in &p.binaries {
        // A binary that can't be read is reported when its probe is attached.
        let Some(now) = sys.file_identity(&b.path) else { continue };
        if now != b.identity {
            return Err(format!(
                "{} has changed since the object was compiled, and the object holds addresses in it ({}): it was {}, it is {}: {AGAIN}",
                b.path,
                b.uses.join(", "),
                b.identity,
                now
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use btc_bpfprog::portable::{BinaryIdentity, TracepointField, TracepointLayout};

    struct Fake;
    impl SystemFacts for Fake {
        fn tracepoint_format(&self, _: &str, name: &str) -> Option<String> {
            (name == "sys_enter_openat").then(|| "format:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n".to_string())
        }
        fn kernel_build_id(&self) -> Option<String> {
            Some("aa".into())
        }
        fn file_identity(&self, _: &str) -> Option<String> {
            Some("build-id 01".into())
        }
    }

    fn openat(offset: u32) -> Portable {
        let fields = vec![TracepointField { name: "filename".into(), offset, size: 8 }];
        Portable { tracepoints: vec![TracepointLayout { category: "syscalls".into(), name: "sys_enter_openat".into(), fields }], ..Portable::default() }
    }

    #[test]
    fn tracepoint_fields_must_be_where_the_object_reads_them() {
        assert_eq!(check(&openat(24), &Fake), Ok(()));
        assert_eq!(
            check(&openat(16), &Fake),
            Err(format!("tracepoint syscalls:sys_enter_openat: field filename is at offset 24 (size 8) on this kernel, not at offset 16 (size 8) as where the object was compiled: {AGAIN}"))
        );
        let mut p = openat(24);
        p.tracepoints[0].fields[0].name = "pathname".into();
        assert!(check(&p, &Fake).is_err_and(|e| e.contains("has no field pathname")));
    }

    #[test]
    fn machine_values_must_hold() {
        let p = |f: &dyn Fn(&mut Portable)| {
            let mut p = Portable::default();
            f(&mut p);
            check(&p, &Fake)
        };
        assert_eq!(p(&|p| p.kernel_uses = vec!["kprobe:vfs_read+16".into()]), Ok(()));
        assert!(p(&|p| {
            p.kernel_build_id = Some("bb".into());
            p.kernel_uses = vec!["kprobe:vfs_read+16".into()];
        })
        .is_err_and(|e| e.starts_with("kprobe:vfs_read+16 is an offset")));
        let bin = BinaryIdentity { path: "/bin/x".into(), identity: "build-id 02".into(), uses: vec!["uprobe:/bin/x:0x10".into()] };
        assert!(p(&|p| p.binaries = vec![bin.clone()]).is_err_and(|e| e.starts_with("/bin/x has changed since the object was compiled, and the object holds addresses in it (uprobe:/bin/x:0x10): it was build-id 02, it is build-id 01")));
    }
}
