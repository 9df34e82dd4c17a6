//! Building what bpftrace v0.26's runtime tests use, as its CMake files (`tests/testprogs`,
//! `tests/testlibs`) build it:
//! - `testlibs/NAME.c` → `testlibs/libNAME.so`: `-g -O0`, shared, not executable.
//! - `testprogs/NAME.c` and `.cpp` → `NAME` (linked `-no-pie`) and `NAME-pie` (`-fpie`, `-pie`),
//!   with `-g -O0` and, where the compiler takes them, `-fno-omit-frame-pointer
//!   -mno-omit-leaf-frame-pointer`; `uprobe_nofp` with `-g -O1 -fomit-frame-pointer
//!   -fno-optimize-sibling-calls` instead; `usdt_lib` also `-fPIC`, linked to `libusdt_tp.so`.
//!   Everything sees the checkout's `tests/include`.
//! - Rust (`.rs`, `rustc -C symbol_mangling_version=v0`) and Go (`.go`, `go build`) programs when
//!   those compilers are installed.
//! - `false.bin` (the bare code of `false.c`), `archive.zip` (`true`, stored), stripped
//!   programs with their debug information apart (`uprobe_test-stripped` with
//!   `external_debug/uprobe_test-stripped.debug`; `uprobe_separate_debug-stripped` with a debug
//!   link to `.debug/`), and `uprobe_test` with split DWARF (`external_debug/dwo`) and packaged
//!   (`external_debug/dwp`).
//!
//! What can't be built (a compiler or tool missing) is returned, with why, so the tests using it
//! are reported as not applicable rather than failed.

use crate::prepare::{stem, up_to_date};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn run(program: &str, args: &[String], cwd: &Path, what: &str) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program} (building {what}): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building {what} failed ({program}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn first_found<'a>(programs: &[&'a str]) -> Option<&'a str> {
    programs.iter().copied().find(|p| found(p))
}

/// Whether gcc accepts `flag` on a small program (as CMake's check_c_compiler_flag asks).
fn gcc_takes(flag: &str) -> bool {
    use std::io::Write;
    Command::new("gcc")
        .args(["-Werror", flag, "-x", "c", "-c", "-o", "/dev/null", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            if let Some(mut i) = c.stdin.take() {
                i.write_all(b"int main(void) { return 0; }\n")?;
            }
            c.wait()
        })
        .is_ok_and(|s| s.success())
}

fn sources(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)))
        .collect();
    out.sort();
    Ok(out)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Builds into `work/testlibs` and `work/testprogs` from the checkout's `tests`; returns what
/// could not be built (path relative to `work`, why).
pub fn build(tests: &Path, work: &Path) -> Result<Vec<(String, String)>, String> {
    let include = format!("-I{}", s(&tests.join("include")));
    let libs = work.join("testlibs");
    let progs = work.join("testprogs");
    let mut unbuilt = Vec::new();

    for c in sources(&tests.join("testlibs"), &["c", "cpp"])? {
        let lib = libs.join(format!("lib{}.so", stem(&c)));
        if up_to_date(&lib, &[&c, &c.with_extension("h")]) {
            continue;
        }
        let cc = if c.extension().is_some_and(|x| x == "cpp") { "g++" } else { "gcc" };
        let args: Vec<String> =
            vec!["-g".into(), "-O0".into(), "-fPIC".into(), "-shared".into(), include.clone(), "-o".into(), s(&lib), s(&c)];
        run(cc, &args, work, &s(&lib))?;
        std::fs::set_permissions(&lib, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(|e| format!("{}: {e}", lib.display()))?;
    }

    let mut cflags: Vec<String> = vec!["-g".into(), "-O0".into()];
    for flag in ["-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer"] {
        if gcc_takes(flag) {
            cflags.push(flag.into());
        }
    }
    let src = tests.join("testprogs");
    for c in sources(&src, &["c", "cpp"])? {
        let name = stem(&c);
        let cc = if c.extension().is_some_and(|x| x == "cpp") { "g++" } else { "gcc" };
        for pie in [false, true] {
            let exe = progs.join(if pie { format!("{name}-pie") } else { name.clone() });
            if up_to_date(&exe, &[&c]) {
                continue;
            }
            let mut args = if name == "uprobe_nofp" {
                ["-g", "-O1", "-fomit-frame-pointer", "-fno-optimize-sibling-calls"].map(String::from).to_vec()
            } else {
                let mut a = cflags.clone();
                if pie {
                    a.push("-fpie".into());
                }
                a
            };
            args.push(include.clone());
            args.push(if pie { "-pie" } else { "-no-pie" }.into());
            let mut link = Vec::new();
            if name == "usdt_lib" {
                args.push("-fPIC".into());
                args.push(format!("-I{}", s(&tests.join("testlibs"))));
                link = vec![format!("-L{}", s(&libs)), format!("-Wl,-rpath,{}", s(&libs)), "-lusdt_tp".into()];
            }
            args.extend(["-o".into(), s(&exe), s(&c)]);
            args.extend(link);
            run(cc, &args, work, &s(&exe))?;
        }
    }

    for rs in sources(&src, &["rs"])? {
        let exe = progs.join(stem(&rs));
        if !found("rustc") {
            unbuilt.push((format!("testprogs/{}", stem(&rs)), "no rustc".into()));
        } else if !up_to_date(&exe, &[&rs]) {
            let args = ["-C", "symbol_mangling_version=v0", "-o", &s(&exe), &s(&rs)].map(String::from);
            run("rustc", &args, &src, &s(&exe))?;
        }
    }
    for go in sources(&src, &["go"])? {
        let exe = progs.join(stem(&go));
        if !found("go") {
            unbuilt.push((format!("testprogs/{}", stem(&go)), "no Go compiler".into()));
        } else if !up_to_date(&exe, &[&go]) {
            let args = ["build", "-o", &s(&exe), &s(&go)].map(String::from);
            run("go", &args, &src, &s(&exe))?;
        }
    }

    // Upstream uses llvm-objcopy and llvm-dwp; a versioned LLVM's or binutils' do the same.
    let objcopy = first_found(&["llvm-objcopy", "llvm-objcopy-19", "objcopy"]);
    let have_objcopy = objcopy.is_some();
    let objcopy = objcopy.unwrap_or("llvm-objcopy");
    let dwp_tool = first_found(&["llvm-dwp", "llvm-dwp-19", "dwp"]);
    fn need(what: &str, ok: bool, why: &str, unbuilt: &mut Vec<(String, String)>) -> bool {
        if !ok {
            unbuilt.push((what.to_string(), why.to_string()));
        }
        ok
    }

    // The bare machine code of false.c's main.
    let false_c = src.join("false.c");
    let false_bin = progs.join("false.bin");
    if false_c.exists() && need("testprogs/false.bin", have_objcopy, "no llvm-objcopy", &mut unbuilt)
        && !up_to_date(&false_bin, &[&false_c])
    {
        let obj = progs.join("false.o");
        run("gcc", &["-c".into(), s(&false_c), "-o".into(), s(&obj)], work, &s(&obj))?;
        let args = ["-S", "--only-section=.text", "--keep-symbol=main", "-O", "binary", &s(&obj), &s(&false_bin)]
            .map(String::from);
        run(objcopy, &args, work, &s(&false_bin))?;
        let _ = std::fs::remove_file(&obj);
    }

    let truth = progs.join("true");
    let zip = progs.join("archive.zip");
    if truth.exists() && need("testprogs/archive.zip", found("zip"), "no zip", &mut unbuilt)
        && !up_to_date(&zip, &[&truth])
    {
        let _ = std::fs::remove_file(&zip);
        run("zip", &["-0".into(), "-j".into(), s(&zip), s(&truth)], work, &s(&zip))?;
    }

    let external = progs.join("external_debug");
    for d in [external.clone(), external.join("dwo"), external.join("dwp"), progs.join(".debug")] {
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    // A stripped program whose debug information is in external_debug/.
    let uprobe_test = progs.join("uprobe_test");
    let stripped = progs.join("uprobe_test-stripped");
    if uprobe_test.exists()
        && need("testprogs/uprobe_test-stripped", have_objcopy, "no llvm-objcopy", &mut unbuilt)
        && !up_to_date(&stripped, &[&uprobe_test])
    {
        let debug = external.join("uprobe_test-stripped.debug");
        run(objcopy, &["--only-keep-debug".into(), s(&uprobe_test), s(&debug)], work, &s(&debug))?;
        run(objcopy, &["--strip-debug".into(), s(&uprobe_test), s(&stripped)], work, &s(&stripped))?;
    }
    // One whose debug information is in .debug/, named by a debug link.
    let separate = progs.join("uprobe_separate_debug");
    let separate_stripped = progs.join("uprobe_separate_debug-stripped");
    if separate.exists()
        && need("testprogs/uprobe_separate_debug-stripped", have_objcopy, "no llvm-objcopy", &mut unbuilt)
        && !up_to_date(&separate_stripped, &[&separate])
    {
        let debug = progs.join(".debug/uprobe_separate_debug-stripped.debug");
        run(objcopy, &["--only-keep-debug".into(), s(&separate), s(&debug)], work, &s(&debug))?;
        run(objcopy, &["--strip-debug".into(), s(&separate), s(&separate_stripped)], work, &s(&separate_stripped))?;
        let link = format!("--add-gnu-debuglink={}", s(&debug));
        run(objcopy, &[link, s(&separate_stripped)], work, &s(&separate_stripped))?;
    }
    // uprobe_test with split DWARF: the .dwo files beside it, or packaged into a .dwp.
    let uprobe_c = src.join("uprobe_test.c");
    if uprobe_c.exists() {
        for kind in ["dwo", "dwp"] {
            let dir = external.join(kind);
            let exe = dir.join("uprobe_test-split");
            if kind == "dwp" && !need("testprogs/external_debug/dwp", dwp_tool.is_some(), "no llvm-dwp", &mut unbuilt) {
                continue;
            }
            if up_to_date(&exe, &[&uprobe_c]) {
                continue;
            }
            let args = ["-g", "-O0", "-gsplit-dwarf", &s(&uprobe_c), "-o", &s(&exe)].map(String::from);
            run("gcc", &args, &dir, &s(&exe))?;
            if kind == "dwp" {
                let dwp = dir.join("uprobe_test-split.dwp");
                let tool = dwp_tool.unwrap_or("llvm-dwp");
                run(tool, &["-e".into(), s(&exe), "-o".into(), s(&dwp)], &dir, &s(&dwp))?;
                for f in sources(&dir, &["dwo"])? {
                    let _ = std::fs::remove_file(f);
                }
            }
        }
    }
    Ok(unbuilt)
}

#[cfg(test)]
mod tests {
    use crate::prepare::Layout;
    use std::path::PathBuf;

    #[test]
    fn tests_using_an_unbuilt_program_are_found() {
        let layout = Layout {
            upstream_tests: PathBuf::new(),
            work: PathBuf::new(),
            bpftrace: PathBuf::new(),
            unbuilt: vec![("testprogs/hello_go".into(), "no Go compiler".into())],
        };
        assert_eq!(
            layout.unbuilt_in("uprobe:./testprogs/hello_go:main.x { }").as_deref(),
            Some("testprogs/hello_go not built: no Go compiler")
        );
        assert_eq!(layout.unbuilt_in("uprobe:./testprogs/hello_go_2:x { }"), None);
        assert_eq!(layout.unbuilt_in("uprobe:./testprogs/uprobe_test:x { }"), None);
    }
}
