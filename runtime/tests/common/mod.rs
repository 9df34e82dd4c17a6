//! Builds the C fixtures in `tests/fixtures` into btc objects with the given metadata.

#![allow(dead_code)]

use btc_bpfprog::{Metadata, FORMAT_VERSION};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The C compiler for BPF. The tests fail (never skip) when it is missing.
pub const CLANG: &str = "clang-19";

fn c_string_literal(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push('"');
    s
}

/// Compiles `tests/fixtures/{name}.bpf.c` with `meta` embedded in `.btc.meta` and returns the
/// object's bytes.
pub fn build(name: &str, meta: &Metadata) -> Vec<u8> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("btc-runtime-fixtures");
    std::fs::create_dir_all(&out_dir).expect("create fixture output dir");
    // Tests run in parallel and may build one fixture with different metadata: name the files
    // after the metadata too.
    let meta_bytes = meta.to_bytes();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&meta_bytes, &mut hasher);
    let stem = format!("{name}-{:016x}-{}", std::hash::Hasher::finish(&hasher), std::process::id());
    let header = out_dir.join(format!("{stem}.meta.h"));
    let text = format!(
        "char __btc_meta[] __attribute__((section(\".btc.meta\"), used)) = {};\n",
        c_string_literal(&meta_bytes)
    );
    std::fs::write(&header, text).expect("write metadata header");
    let object = out_dir.join(format!("{stem}.bpf.o"));
    let output = Command::new(CLANG)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(format!("-DBTC_META_HEADER=\"{}\"", header.display()))
        .arg(format!("-DRINGBUF_NAME={}", btc_bpfprog::RINGBUF_MAP))
        .arg(format!("-DLOST_NAME={}", btc_bpfprog::LOST_MAP))
        .arg("-I")
        .arg(&fixtures)
        .arg(fixtures.join(format!("{name}.bpf.c")))
        .arg("-o")
        .arg(&object)
        .output()
        .unwrap_or_else(|e| panic!("{CLANG} is needed to build the BPF test fixtures but could not be run: {e}"));
    assert!(
        output.status.success(),
        "{CLANG} failed on {name}.bpf.c:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(&object).expect("read compiled fixture");
    let _ = std::fs::remove_file(&header);
    let _ = std::fs::remove_file(&object);
    bytes
}

/// Metadata with the current format version.
pub fn meta(
    probes: Vec<btc_bpfprog::Probe>,
    maps: Vec<btc_bpfprog::MapInfo>,
    formats: Vec<btc_bpfprog::FormatInfo>,
) -> Metadata {
    Metadata { version: FORMAT_VERSION, compiler: "runtime-tests".into(), source: Default::default(), requires: Default::default(), probes, maps, formats, values: vec![], error_sites: vec![], config: Default::default(), strlen: 0, pcaps: vec![], portable: Default::default() }
}

/// Names of the BPF programs currently loaded in the kernel.
pub fn loaded_prog_names() -> Vec<String> {
    libbpf_rs::query::ProgInfoIter::default().map(|info| info.name.to_string_lossy().into_owned()).collect()
}

/// Names of the BPF maps currently loaded in the kernel.
pub fn loaded_map_names() -> Vec<String> {
    libbpf_rs::query::MapInfoIter::default().map(|info| info.name.to_string_lossy().into_owned()).collect()
}

/// Runs `object` with output captured; returns (result, output).
pub fn run(object: &[u8], quiet: bool) -> (Result<i32, btc_runtime::RuntimeError>, String) {
    let mut out = Vec::new();
    let result = btc_runtime::run_object_to(object, &btc_runtime::RunOptions { quiet, ..Default::default() }, &mut out);
    (result, String::from_utf8_lossy(&out).into_owned())
}
