//! cmake/Btc.cmake: the example project in cmake/example configures and builds with CMake, its
//! object and its embedded copy run, edits to the script rebuild them, and script errors fail
//! the build with btc's diagnostic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BTC: &str = env!("CARGO_BIN_EXE_btc");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn cmake(args: &[&str]) -> Output {
    match Command::new("cmake").args(args).output() {
        Ok(o) => o,
        Err(e) => panic!("can't run cmake ({e}): install it with scripts/install-deps.sh"),
    }
}

/// A copy of cmake/example in a fresh directory, configured into `<dir>/build`.
fn configured_copy(name: &str) -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("create the project directory");
    for f in ["CMakeLists.txt", "hello.bt", "main.c"] {
        std::fs::copy(Path::new(ROOT).join("cmake/example").join(f), src.join(f)).expect("copy the example");
    }
    let build = dir.join("build");
    let out = cmake(&[
        "-S",
        src.to_str().expect("path"),
        "-B",
        build.to_str().expect("path"),
        &format!("-DBTC_EXECUTABLE={BTC}"),
        &format!("-DBTC_CMAKE_DIR={ROOT}/cmake"),
    ]);
    assert!(out.status.success(), "cmake configure failed:\n{}", text(&out));
    (src, build)
}

fn build(dir: &Path) -> Output {
    cmake(&["--build", dir.to_str().expect("path")])
}

/// Rewrites the script (make compares modification times in nanoseconds, so an edit right
/// after a build is seen).
fn edit(script: &Path, contents: &str) {
    std::fs::write(script, contents).expect("write the script");
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?} failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HELLO: &str = "Attaching 1 probe...\nhello from a BPF object built by CMake\n\n\n";

#[test]
fn example_project_builds_an_object_and_a_program_that_embeds_it() {
    let (src, dir) = configured_copy("cmake-example");
    let out = build(&dir);
    assert!(out.status.success(), "cmake --build failed:\n{}", text(&out));
    assert!(text(&out).contains("Compiling BPF object hello.o with btc"), "{}", text(&out));

    // The object is a btc object and runs.
    let object = dir.join("hello.o");
    let bytes = std::fs::read(&object).expect("hello.o was built");
    let meta = btc_bpfprog::read_metadata(&bytes).expect("hello.o carries btc metadata");
    assert_eq!(meta.probes.len(), 1);
    assert_eq!(run(Command::new(BTC).arg("run").arg(&object)), HELLO);

    // The header holds the same bytes, and the program built with it runs them.
    let header = std::fs::read_to_string(dir.join("hello_bpf.h")).expect("hello_bpf.h was generated");
    assert!(header.contains(&format!("static const unsigned char hello_bpf[{}] = {{", bytes.len())), "{header}");
    assert!(header.contains(&format!("static const unsigned long hello_bpf_len = {};", bytes.len())));
    assert!(header.contains("  0x7f,0x45,0x4c,0x46,"), "the array starts with the ELF magic");
    assert_eq!(run(&mut Command::new(dir.join("hello_tracer"))), HELLO);

    // Nothing changed: nothing is compiled again.
    let again = build(&dir);
    assert!(again.status.success());
    assert!(!text(&again).contains("Compiling BPF object"), "rebuilt without a change:\n{}", text(&again));

    // An edit to the script rebuilds the object, the header and the program.
    edit(&src.join("hello.bt"), "BEGIN { printf(\"edited\\n\"); exit(); }\n");
    let edited = build(&dir);
    assert!(edited.status.success(), "{}", text(&edited));
    assert!(text(&edited).contains("Compiling BPF object hello.o with btc"), "{}", text(&edited));
    assert!(text(&edited).contains("Embedding hello.o in hello_bpf.h"), "{}", text(&edited));
    let want = "Attaching 1 probe...\nedited\n\n\n";
    assert_eq!(run(Command::new(BTC).arg("run").arg(&object)), want);
    assert_eq!(run(&mut Command::new(dir.join("hello_tracer"))), want);
}

#[test]
fn a_script_error_fails_the_build_with_the_diagnostic() {
    let (src, dir) = configured_copy("cmake-example-error");
    edit(&src.join("hello.bt"), "BEGIN { printf(\"%d\\n\", nosuch); }\n");
    let out = build(&dir);
    assert!(!out.status.success(), "the build should fail:\n{}", text(&out));
    let log = text(&out);
    assert!(log.contains("hello.bt:1:24: error: unknown identifier 'nosuch'"), "{log}");
    assert!(!dir.join("hello.o").exists(), "no object is left behind");
}
