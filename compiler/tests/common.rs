//! Shared helpers for compiler tests: a type source over fixture tracepoint formats.
#![allow(dead_code)]

use btc_compiler::TypeSource;

pub const OPENAT: &str = "name: sys_enter_openat\nID: 1\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\n\
print fmt: \"\"\n";

/// Knows `syscalls:sys_enter_openat` and `syscalls:sys_enter_open`.
pub struct Fixtures;

impl TypeSource for Fixtures {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        match (category, name) {
            ("syscalls", "sys_enter_openat") | ("syscalls", "sys_enter_open") => Ok(OPENAT.to_string()),
            _ => Err(format!("tracepoint not found: {category}:{name}")),
        }
    }
    /// Every header exists, empty (the machine's headers don't matter to these tests).
    fn header(&self, name: &str, _quoted: bool, _from: Option<&str>) -> Option<(String, String)> {
        Some((name.to_string(), String::new()))
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(vec![
            ("syscalls".into(), "sys_enter_openat".into()),
            ("syscalls".into(), "sys_enter_open".into()),
        ])
    }
}

/// Compiles and returns the rendered diagnostics of a failure, or panics on success.
pub fn errors_of(src: &str) -> String {
    let opts = btc_compiler::CompileOptions::default();
    match btc_compiler::check(src, &Fixtures, &opts) {
        Ok(_) => panic!("expected errors for: {src}"),
        Err(btc_compiler::CompileError::Script(d)) => d.render("stdin", src, true),
        Err(btc_compiler::CompileError::Internal(m)) => panic!("internal error: {m}"),
    }
}

pub fn compile_ir(src: &str) -> String {
    let opts = btc_compiler::CompileOptions::default();
    match btc_codegen::compile(src, &Fixtures, &opts, btc_compiler::Emit::LlvmIr) {
        Ok((b, _)) => String::from_utf8_lossy(&b).into_owned(),
        Err(btc_compiler::CompileError::Script(d)) => panic!("{}", d.render("stdin", src, true)),
        Err(btc_compiler::CompileError::Internal(m)) => panic!("internal error: {m}"),
    }
}

pub fn compile_obj(src: &str) -> Vec<u8> {
    let opts = btc_compiler::CompileOptions::default();
    match btc_codegen::compile(src, &Fixtures, &opts, btc_compiler::Emit::Object) {
        Ok((b, _)) => b,
        Err(btc_compiler::CompileError::Script(d)) => panic!("{}", d.render("stdin", src, true)),
        Err(btc_compiler::CompileError::Internal(m)) => panic!("internal error: {m}"),
    }
}
