use super::*;

/// The running kernel's BTF (CI runs on a kernel with BTF: its absence fails the tests).
struct Kernel;

impl TypeSource for Kernel {
    fn tracepoint_format(&self, c: &str, n: &str) -> Result<String, String> {
        Err(format!("no tracepoint {c}:{n}"))
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    fn kernel_btf(&self, module: Option<&str>) -> Result<Vec<u8>, String> {
        let path = format!("/sys/kernel/btf/{}", module.unwrap_or("vmlinux"));
        std::fs::read(&path).map_err(|e| format!("{path}: {e}"))
    }
}

fn names(r: &Record) -> Vec<(&str, u32)> {
    r.fields.iter().map(|f| (f.name.as_str(), f.offset)).collect()
}

#[test]
fn kfunc_args_are_btf_parameters_in_context_slots() {
    let db = TypeDb::kernel_only(&Kernel);
    let r = db.kfunc_args("vfs_read").expect("vfs_read has BTF");
    assert_eq!(names(&r), [("file", 0), ("buf", 8), ("count", 16), ("pos", 24)]);
    assert!(matches!(&r.fields[0].ty, Type::Ptr { pointee, user: false } if matches!(&**pointee, Type::Struct(s) if s.name == "file")));
    assert_eq!(db.kfunc_return("vfs_read"), Some(Type::I64));
    assert!(db.kfunc_args("no_such_function_btc").is_none());
}

#[test]
fn rawtracepoint_args_come_from_btf_trace_typedefs() {
    let db = TypeDb::kernel_only(&Kernel);
    let r = db.rawtracepoint_args("sched_switch").expect("btf_trace_sched_switch");
    // (bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
    assert_eq!(names(&r), [("arg0", 0), ("arg1", 8), ("arg2", 16), ("arg3", 24)]);
    assert!(matches!(&r.fields[1].ty, Type::Ptr { pointee, .. } if matches!(&**pointee, Type::Struct(s) if s.name == "task_struct")));
}

#[test]
fn iterator_context_is_a_btf_struct() {
    let db = TypeDb::kernel_only(&Kernel);
    let Some(Type::Ptr { pointee, .. }) = db.iter_ctx("task") else { panic!("no bpf_iter__task") };
    let Type::Struct(s) = *pointee else { panic!("not a struct") };
    let r = db.record(&s).expect("resolves");
    assert_eq!(r.field_path("task").map(|p| r.path_offset(&p)), Some(8));
}
