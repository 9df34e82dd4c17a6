//! A fuzz target over opening objects (proptest): the ELF reader, the metadata decoder and its
//! checks, libbpf's opening and the checks of the metadata against the object's programs and
//! maps, and `btc info`'s rendering. Inputs are mutations of real objects that btc compiles
//! here from scripts using most of the language (every map kind, printf and print of every
//! runtime type, stacks, CO-RE, watchpoints, unsafe functions, iterators), at the byte level
//! (the whole file) and at the JSON level (the metadata alone).
//!
//! No input may panic or take more than a second, and every error is one line.
//! The run is bounded: `PROPTEST_CASES` cases per target (default 1000 here; `make fuzz` runs
//! more).

use proptest::prelude::*;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BTC: &str = env!("CARGO_BIN_EXE_btc");

/// Scripts compiled into the corpus (with `--unsafe -c true`).
const SCRIPTS: &[&str] = &[
    r#"BEGIN { @c = count(); @s = sum(5); @h = hist(100); @l = lhist(50, 0, 100, 10); @a = avg(3);
       @st = stats(4); @mn = min(1); @mx = max(2); @t[1, "a"] = (1, "x"); printf("%d %s %x\n", 1, "two", 3);
       print((1, "a", 2)); time("%H\n"); print(@h, 2, 3); exit(); }
       END { printf("%d %s\n", elapsed, strftime("%H", nsecs)); }"#,
    r#"tracepoint:syscalls:sys_enter_openat /comm == "cat"/ { @[comm, args.flags] = count();
       printf("%s %s\n", comm, str(args.filename)); delete(@x[1]); clear(@y); zero(@z); @x[1] = 1;
       @y[2] = 2; @z = 3; system("echo %d", pid); signal("KILL"); }"#,
    r#"kfunc:vfs_read { @[curtask->comm, args.count] = sum(args.count); printf("%s\n", kstack);
       @k[kstack(perf, 3)] = count(); @u[ustack] = count(); @p = curtask; }"#,
    r#"uprobe:libc:malloc { @b[usym(reg("ip"))] = hist(arg0, 2); @n = ntop(2, 0); @m = macaddr(arg0);
       @cg = cgroup_path(cgroup); @e = strerror(2); @buf = buf(arg0, 8); @ks = ksym(arg0); }"#,
    r#"iter:task { printf("%s\n", ctx->task->comm); }"#,
    r#"watchpoint:main+arg0:4:w { printf("w\n"); unwatch(0x10); } watchpoint:0x10000000:8:rw { @w = 1; }
       END { printf("%d %d %s\n", cpid, $#, str($2)); }"#,
];

/// The corpus: every script compiled once.
fn corpus() -> &'static Vec<Vec<u8>> {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-objects-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("corpus dir");
        let out = SCRIPTS
            .iter()
            .enumerate()
            .map(|(i, script)| {
                let obj = dir.join(format!("c{i}.o"));
                let run = std::process::Command::new(BTC)
                    .args(["compile", "--unsafe", "-c", "true", "-e", script, "-o"])
                    .arg(&obj)
                    .args(["a", "b"])
                    .output()
                    .expect("run btc compile");
                assert!(run.status.success(), "{script}: {}", String::from_utf8_lossy(&run.stderr));
                std::fs::read(&obj).expect("read object")
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        out
    })
}

/// Values that break sizes, counts and offsets.
const INTERESTING: &[u64] = &[0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x7fff_ffff, 0xffff_ffff, u64::MAX];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    /// Writes an interesting value of 1, 2, 4 or 8 bytes at a position.
    Word(usize, usize, u8),
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    /// Copies a piece of another corpus object over this one.
    Splice(usize, usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (any::<usize>(), 0..INTERESTING.len(), 0u8..4).prop_map(|(p, v, w)| Mutation::Word(p, v, w)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), any::<usize>(), any::<usize>(), 1usize..256).prop_map(|(o, a, b, n)| Mutation::Splice(o, a, b, n)),
    ]
}

fn apply(mut s: Vec<u8>, m: &Mutation, corpus: &[Vec<u8>]) -> Vec<u8> {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
    match m {
        Mutation::Flip(p, b) if !s.is_empty() => {
            let i = at(*p, s.len());
            s[i] ^= 1 << b;
        }
        Mutation::Set(p, b) if !s.is_empty() => {
            let i = at(*p, s.len());
            s[i] = *b;
        }
        Mutation::Word(p, v, w) => {
            let bytes = INTERESTING[*v].to_le_bytes();
            let n = 1usize << w;
            let i = at(*p, s.len().saturating_sub(n - 1));
            if i + n <= s.len() {
                s[i..i + n].copy_from_slice(&bytes[..n]);
            }
        }
        Mutation::Truncate(p) => s.truncate(at(*p, s.len() + 1)),
        Mutation::Delete(p, n) => {
            let i = at(*p, s.len());
            let j = (i + n).min(s.len());
            s.drain(i..j);
        }
        Mutation::Insert(p, b) => {
            let i = at(*p, s.len() + 1);
            s.splice(i..i, b.iter().copied());
        }
        Mutation::Splice(o, a, b, n) => {
            let other = &corpus[o % corpus.len()];
            let src = at(*a, other.len());
            let dst = at(*b, s.len());
            let len = (*n).min(other.len() - src).min(s.len() - dst);
            s[dst..dst + len].copy_from_slice(&other[src..src + len]);
        }
        _ => {}
    }
    s
}

/// Opens an object as `btc run` and `btc info` do; checks the rules.
fn open_one(bytes: &[u8]) {
    let start = Instant::now();
    let described = btc_cli::describe_object("x.o", bytes);
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(1), "opening took {elapsed:?}");
    match described {
        Ok(text) => assert!(text.starts_with("Object\n  file: x.o\n"), "{text}"),
        Err(e) => assert!(e.starts_with("x.o: ") && !e.contains('\n'), "not one line: {e:?}"),
    }
}

/// The JSON leaves of a value, as paths.
fn leaves(v: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
            out.push(path.clone());
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }
            out.push(path.clone());
        }
        _ => out.push(path.clone()),
    }
}

fn at_path<'a>(v: &'a mut serde_json::Value, path: &[String]) -> Option<&'a mut serde_json::Value> {
    path.iter().try_fold(v, |v, k| match v {
        serde_json::Value::Object(m) => m.get_mut(k),
        serde_json::Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

/// What a JSON mutation puts at a leaf.
#[derive(Debug, Clone)]
enum JsonEdit {
    Number(usize),
    Negative,
    Text(usize),
    Null,
    /// Replaces the node with a copy of another node of the metadata.
    Graft(usize),
    /// Removes the node (a key of an object or an element of an array).
    Remove,
}

const TEXTS: &[&str] = &["", "..", "../../etc/passwd", "btc_m0", "btc_p0", "@", "a\nb", "%s%s%s%n", "kstack", "\0"];

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        (0..INTERESTING.len()).prop_map(JsonEdit::Number),
        Just(JsonEdit::Negative),
        (0..TEXTS.len()).prop_map(JsonEdit::Text),
        Just(JsonEdit::Null),
        any::<usize>().prop_map(JsonEdit::Graft),
        Just(JsonEdit::Remove),
    ]
}

fn edit_json(v: &mut serde_json::Value, target: usize, edit: &JsonEdit) {
    let mut all = Vec::new();
    leaves(v, &mut Vec::new(), &mut all);
    let Some(path) = all.get(target % all.len().max(1)).cloned() else { return };
    let new = match edit {
        JsonEdit::Number(i) => serde_json::json!(INTERESTING[*i]),
        JsonEdit::Negative => serde_json::json!(-1),
        JsonEdit::Text(i) => serde_json::json!(TEXTS[*i]),
        JsonEdit::Null => serde_json::Value::Null,
        JsonEdit::Graft(i) => {
            let from = &all[i % all.len()];
            let mut copy = v.clone();
            at_path(&mut copy, from).map(|x| x.clone()).unwrap_or_default()
        }
        JsonEdit::Remove => {
            let Some((last, parent)) = path.split_last() else { return };
            match at_path(v, parent) {
                Some(serde_json::Value::Object(m)) => {
                    m.remove(last);
                }
                Some(serde_json::Value::Array(a)) => {
                    if let Some(i) = last.parse::<usize>().ok().filter(|&i| i < a.len()) {
                        a.remove(i);
                    }
                }
                _ => {}
            }
            return;
        }
    };
    if let Some(slot) = at_path(v, &path) {
        *slot = new;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_objects_open_or_fail_in_one_line(seed in any::<usize>(), muts in prop::collection::vec(mutation(), 1..6)) {
        let corpus = corpus();
        let base = corpus[seed % corpus.len()].clone();
        let mutated = muts.iter().fold(base, |s, m| apply(s, m, corpus));
        open_one(&mutated);
    }

    #[test]
    fn mutated_metadata_is_refused_or_consistent(seed in any::<usize>(), edits in prop::collection::vec((any::<usize>(), json_edit()), 1..5)) {
        let corpus = corpus();
        let object = &corpus[seed % corpus.len()];
        let report = btc_runtime::inspect_object(object).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let json = btc_bpfprog::metadata_bytes(object).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut value: serde_json::Value = serde_json::from_slice(json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (target, edit) in &edits {
            edit_json(&mut value, *target, edit);
        }
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        let start = Instant::now();
        let meta = btc_bpfprog::Metadata::from_bytes(&bytes).and_then(|m| m.validate().map(|()| m));
        match meta {
            Ok(meta) => {
                if btc_runtime::check_against_object(&meta, &report.programs, &report.maps).is_ok() {
                    let text = btc_cli::render_object_info("x.o", &btc_runtime::ObjectReport { meta, ..report });
                    prop_assert!(text.starts_with("Object\n"));
                }
            }
            Err(e) => prop_assert!(!e.to_string().contains('\n'), "{e}"),
        }
        prop_assert!(start.elapsed() < Duration::from_secs(1));
    }
}

#[test]
fn every_corpus_object_opens() {
    for object in corpus() {
        open_one(object);
        assert!(btc_cli::describe_object("x.o", object).is_ok());
    }
}
