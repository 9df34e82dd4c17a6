//! The index of vmlinux's BTF that `btc` keeps between runs (in `$BTC_CACHE_DIR`): the first
//! check builds it, later ones read it, a damaged one is replaced, indexes of earlier boots are
//! removed, and none of this changes what a check says.

use std::path::{Path, PathBuf};
use std::process::Command;

const BTC: &str = env!("CARGO_BIN_EXE_btc");

/// A script that reaches kernel structs, typedefs and enumerators through BTF, with glibc's
/// socket header included; and one with mistakes whose messages come from BTF too.
const GOOD: &str = "#include <sys/socket.h>\n\
kprobe:tcp_connect { $sk = (struct sock *)arg0; $t = (struct tcp_sock *)arg0;\n\
  if ($sk->__sk_common.skc_state == TCP_SYN_SENT) { printf(\"%d %d %d\\n\", $sk->__sk_common.skc_family, AF_INET6, $t->snd_cwnd); } }\n\
tracepoint:sched:sched_process_exec { printf(\"%d\\n\", curtask->pid + (uint64)TASK_COMM_LEN * 0); }\n";
const BAD: &str = "kprobe:tcp_connect { $sk = (struct tcp_sok *)arg0; printf(\"%d\\n\", $sk->x + NO_SUCH_ENUMERATOR); }\n";

/// `btc compile --check` of `script` with the index kept in `cache` (None: kept nowhere):
/// exit status and output.
fn check(cache: Option<&Path>, script: &Path) -> (bool, String, String) {
    let mut cmd = Command::new(BTC);
    cmd.args(["compile", "--check"]).arg(script).env_remove("BPFTRACE_BTF");
    match cache {
        Some(dir) => cmd.env("BTC_CACHE_DIR", dir),
        None => cmd.env("BTC_CACHE_DIR", ""),
    };
    let out = cmd.output().expect("btc runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn indexes(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "btfidx")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_btf_index_is_built_once_reused_and_replaced_when_damaged() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("btf-index-{}", std::process::id()));
    let cache = root.join("cache");
    std::fs::create_dir_all(&cache).expect("temp dir");
    let (good, bad) = (root.join("good.bt"), root.join("bad.bt"));
    std::fs::write(&good, GOOD).expect("script");
    std::fs::write(&bad, BAD).expect("script");
    // An index of an earlier boot, and an unrelated file.
    std::fs::write(cache.join("vmlinux-00000000-0000-0000-0000-000000000000.btfidx"), b"old").expect("file");
    std::fs::write(cache.join("notes.txt"), b"keep").expect("file");

    let expect_good = check(None, &good);
    let expect_bad = check(None, &bad);
    assert!(expect_good.0, "{}", expect_good.2);
    assert!(!expect_bad.0 && expect_bad.2.contains("tcp_sok"), "{}", expect_bad.2);
    assert!(indexes(&cache).len() == 1, "no index is written without a place for it");

    // The first check writes the index (and removes the old boot's), the next ones read it.
    assert_eq!(check(Some(&cache), &good), expect_good);
    let idx = indexes(&cache);
    assert_eq!(idx.len(), 1, "{idx:?}");
    assert!(!idx[0].ends_with("vmlinux-00000000-0000-0000-0000-000000000000.btfidx"));
    assert!(cache.join("notes.txt").exists());
    let written = std::fs::read(&idx[0]).expect("index");
    assert!(written.starts_with(b"BTCI"));
    let modified = std::fs::metadata(&idx[0]).and_then(|m| m.modified()).expect("mtime");
    assert_eq!(check(Some(&cache), &good), expect_good);
    assert_eq!(check(Some(&cache), &bad), expect_bad);
    assert_eq!(std::fs::metadata(&idx[0]).and_then(|m| m.modified()).expect("mtime"), modified, "a fitting index is not rewritten");

    // A damaged index is not used, and is replaced.
    std::fs::write(&idx[0], &written[..written.len() / 2]).expect("damage");
    assert_eq!(check(Some(&cache), &good), expect_good);
    assert_eq!(std::fs::read(&idx[0]).expect("index"), written);
    let _ = std::fs::remove_dir_all(&root);
}
