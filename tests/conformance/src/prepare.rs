//! The directory tests run in, laid out as upstream's build tree lays out its `tests`
//! directory: `runtime/` (upstream's, linked), `testprogs/` and `testlibs/` (built here from
//! upstream's sources, as its CMake files build them: for 0.20 `-g -O0`, programs without PIE,
//! the libraries shared and not executable; for 0.26 see `testprogs026.rs`), and
//! `bin/bpftrace`, the tool under test. The tree the programs were built from is recorded in
//! `.upstream`; another tree's are rebuilt from scratch.

use crate::engine::Dialect;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Layout {
    /// The checkout's `tests` directory.
    pub upstream_tests: PathBuf,
    /// Where tests run.
    pub work: PathBuf,
    /// `work/bin/bpftrace`.
    pub bpftrace: PathBuf,
    /// Test programs that could not be built here (path relative to `work`, why): the tests
    /// that use them don't apply.
    pub unbuilt: Vec<(String, String)>,
}

impl Layout {
    /// Why a test whose commands read `text` can't run: it uses a program not built here.
    pub fn unbuilt_in(&self, text: &str) -> Option<String> {
        self.unbuilt.iter().find_map(|(path, why)| {
            let used = text.match_indices(path.as_str()).any(|(i, _)| {
                let next = text[i + path.len()..].chars().next();
                !next.is_some_and(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            });
            used.then(|| format!("{path} not built: {why}"))
        })
    }
}

/// Finds the `tests` directory of an upstream checkout given its root or the directory itself.
pub fn upstream_tests_dir(given: &Path) -> Result<PathBuf, String> {
    for candidate in [given.join("tests"), given.to_path_buf()] {
        if candidate.join("runtime").is_dir() && candidate.join("testprogs").is_dir() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "{}: not a bpftrace checkout (no tests/runtime and tests/testprogs in it)",
        given.display()
    ))
}

pub fn prepare(upstream: &Path, work: &Path, btc: &Path, dialect: Dialect) -> Result<Layout, String> {
    let upstream_tests = std::fs::canonicalize(upstream_tests_dir(upstream)?)
        .map_err(|e| format!("{}: {e}", upstream.display()))?;
    let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
    let stamp = work.join(".upstream");
    let source = upstream_tests.display().to_string();
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(source.as_str()) {
        for d in ["testprogs", "testlibs"] {
            let _ = std::fs::remove_dir_all(work.join(d));
        }
    }
    for d in ["bin", "testprogs", "testlibs"] {
        std::fs::create_dir_all(work.join(d)).map_err(|e| io(&work.join(d), e))?;
    }
    // Tests run in `work`: every path handed to them is absolute.
    let work = &std::fs::canonicalize(work).map_err(|e| io(work, e))?;
    // `runtime` points at the checkout's, so EXPECT_FILE, EXPECT_JSON and scripts resolve.
    let runtime = work.join("runtime");
    let _ = std::fs::remove_file(&runtime);
    std::os::unix::fs::symlink(upstream_tests.join("runtime"), &runtime).map_err(|e| io(&runtime, e))?;
    // btc behaves as bpftrace when invoked under that name; it finds btc-codegen next to its
    // resolved executable.
    let btc = std::fs::canonicalize(btc).map_err(|e| io(btc, e))?;
    let bpftrace = work.join("bin/bpftrace");
    let _ = std::fs::remove_file(&bpftrace);
    std::os::unix::fs::symlink(&btc, &bpftrace).map_err(|e| io(&bpftrace, e))?;
    let mut unbuilt = Vec::new();
    match dialect {
        Dialect::V020 => {
            build_testlibs(&upstream_tests.join("testlibs"), &work.join("testlibs"))?;
            build_testprogs(&upstream_tests, &work.join("testprogs"), &work.join("testlibs"))?;
        }
        Dialect::V026 => unbuilt = crate::testprogs026::build(&upstream_tests, work)?,
    }
    std::fs::write(&stamp, &source).map_err(|e| io(&stamp, e))?;
    Ok(Layout { upstream_tests, work: work.to_path_buf(), bpftrace, unbuilt })
}

/// `-DHAVE_SYSTEMTAP_SYS_SDT_H` where the compiler finds `<sys/sdt.h>` (upstream's CMake
/// checks the same way; Debian keeps the header in the multiarch include directory).
fn sdt_flags() -> Vec<String> {
    static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *FOUND.get_or_init(sdt_header_found) {
        vec!["-DHAVE_SYSTEMTAP_SYS_SDT_H".into()]
    } else {
        Vec::new()
    }
}

fn sdt_header_found() -> bool {
    use std::io::Write;
    Command::new("gcc")
        .args(["-E", "-x", "c", "-o", "/dev/null", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            if let Some(mut i) = c.stdin.take() {
                i.write_all(b"#include <sys/sdt.h>\n")?;
            }
            c.wait()
        })
        .is_ok_and(|s| s.success())
}

pub fn c_sources(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    out.sort();
    Ok(out)
}

pub fn stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

pub fn up_to_date(out: &Path, inputs: &[&Path]) -> bool {
    let Ok(built) = std::fs::metadata(out).and_then(|m| m.modified()) else {
        return false;
    };
    inputs
        .iter()
        .all(|i| std::fs::metadata(i).and_then(|m| m.modified()).is_ok_and(|t| t <= built))
}

pub fn gcc(args: &[String], what: &str) -> Result<(), String> {
    let out = Command::new("gcc")
        .args(args)
        .output()
        .map_err(|e| format!("gcc (building {what}): {e}"))?;
    if !out.status.success() {
        return Err(format!("building {what} failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// `testlibs/NAME.c` → `libNAME.so`, position-independent, without the executable bit
/// (tools must trace non-executable shared objects).
fn build_testlibs(src: &Path, out: &Path) -> Result<(), String> {
    for c in c_sources(src)? {
        let lib = out.join(format!("lib{}.so", stem(&c)));
        let header = c.with_extension("h");
        if up_to_date(&lib, &[&c, &header]) {
            continue;
        }
        let mut args = vec!["-g".into(), "-O0".into(), "-fPIC".into(), "-shared".into()];
        args.extend(sdt_flags());
        args.extend(["-o".into(), lib.display().to_string(), c.display().to_string()]);
        gcc(&args, &lib.display().to_string())?;
        std::fs::set_permissions(&lib, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(|e| format!("{}: {e}", lib.display()))?;
    }
    Ok(())
}

/// `testprogs/NAME.c` → `NAME`, `-g -O0 -no-pie`. `usdt_lib` also links `libusdt_tp.so` and
/// sees `testlibs/` headers, as upstream's CMake file says.
fn build_testprogs(tests: &Path, out: &Path, libs: &Path) -> Result<(), String> {
    let libdir = std::fs::canonicalize(libs).map_err(|e| format!("{}: {e}", libs.display()))?;
    for c in c_sources(&tests.join("testprogs"))? {
        let name = stem(&c);
        let exe = out.join(&name);
        if up_to_date(&exe, &[&c]) {
            continue;
        }
        let mut args = vec!["-g".into(), "-O0".into(), "-no-pie".into()];
        args.extend(sdt_flags());
        let mut link = Vec::new();
        if name == "usdt_lib" {
            args.push("-fPIC".into());
            args.push(format!("-I{}", tests.join("testlibs").display()));
            link.push(format!("-L{}", libdir.display()));
            link.push(format!("-Wl,-rpath,{}", libdir.display()));
            link.push("-lusdt_tp".into());
        }
        args.extend(["-o".into(), exe.display().to_string(), c.display().to_string()]);
        args.extend(link);
        gcc(&args, &exe.display().to_string())?;
    }
    Ok(())
}
