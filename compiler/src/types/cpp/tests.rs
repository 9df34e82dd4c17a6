use super::*;
use crate::types::NoTypes;

/// Headers from a table, for `#include` tests.
struct Headers(Vec<(&'static str, &'static str)>);

impl TypeSource for Headers {
    fn tracepoint_format(&self, _: &str, _: &str) -> Result<String, String> {
        Err("none".into())
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    fn header(&self, name: &str, _quoted: bool, _from: Option<&str>) -> Option<(String, String)> {
        self.0.iter().find(|(n, _)| *n == name).map(|(n, t)| (n.to_string(), t.to_string()))
    }
}

fn texts(toks: &[Token]) -> Vec<&str> {
    toks.iter().map(|t| t.text.as_str()).collect()
}

fn expand_str(src: &str, input: &str) -> String {
    let pre = preprocess(src, &NoTypes);
    texts(&expand(&lex(input, 0), &pre.macros)).join(" ")
}

#[test]
fn lexes_c_and_bpftrace_tokens() {
    let t = lex("a->b <<= 0x1fUL /* c */ \"s\\\"\" 'x' $v @m // end", 0);
    assert_eq!(texts(&t), ["a", "->", "b", "<<=", "0x1fUL", "\"s\\\"\"", "'x'", "$v", "@m"]);
    assert_eq!(t[2].pos, 3);
}

#[test]
fn object_and_function_like_macros() {
    let src = "#define N 4\n#define SQ(x) ((x) * (x))\n#define STR(x) #x\n#define CAT(a, b) a ## b\n#define V(...) f(__VA_ARGS__)\n";
    assert_eq!(expand_str(src, "N + SQ(N + 1)"), "4 + ( ( 4 + 1 ) * ( 4 + 1 ) )");
    assert_eq!(expand_str(src, "STR(a + b)"), "\"a + b\"");
    assert_eq!(expand_str(src, "CAT(fo, o)"), "foo");
    assert_eq!(expand_str(src, "V(1, 2)"), "f ( 1 , 2 )");
    // A function-like macro without arguments is left alone, and recursion stops.
    assert_eq!(expand_str(src, "SQ"), "SQ");
    assert_eq!(expand_str("#define X X + 1\n", "X"), "X + 1");
}

#[test]
fn conditionals() {
    let src = "#define A 2\n#if A > 1 && defined(A)\n#define R 1\n#elif 1\n#define R 2\n#else\n#define R 3\n#endif\n\
#ifdef NOPE\n#define S 1\n#else\n#define S 2\n#endif\n#if (1 ? 0 : 1) || !defined NOPE\n#define T 5\n#endif\n";
    assert_eq!(expand_str(src, "R S T"), "1 2 5");
}

#[test]
fn includes_with_guards_and_missing_headers() {
    let h = Headers(vec![
        ("a.h", "#ifndef A_H\n#define A_H\n#include \"b.h\"\nstruct a { int x; };\n#endif\n"),
        ("b.h", "#pragma once\n#define B 7\ntypedef int b_t;\n"),
    ]);
    let pre = preprocess("#include <a.h>\n#include <a.h>\n#include \"b.h\"\n#include <nope.h>\nBEGIN {}", &h);
    assert_eq!(texts(&pre.header_tokens), ["typedef", "int", "b_t", ";", "struct", "a", "{", "int", "x", ";", "}", ";"]);
    assert!(pre.macros.contains_key("B"));
    assert_eq!(pre.missing.len(), 1);
    assert_eq!(pre.missing[0].0, "nope.h");
    assert_eq!(pre.missing[0].1, Some((45, 62)));
}

#[test]
fn script_directive_errors() {
    let pre = preprocess("#frobnicate\n#if 1\nBEGIN {}", &NoTypes);
    let msgs: Vec<&str> = pre.errors.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(msgs, ["unknown preprocessor directive #frobnicate", "unterminated #if"]);
}

#[test]
fn comments_are_stripped_keeping_offsets() {
    let s = strip_comments("a /* x\ny */ b // c\n\"/*\"");
    assert_eq!(s, "a     \n     b     \n\"/*\"");
}

#[test]
fn script_expansion_maps_back() {
    use crate::types::expand::expand_script;
    let pre = preprocess("#define N 100\n#define ADD(a, b) (a + b)\n", &NoTypes);
    let src = "#define N 100\nBEGIN { $x = ADD(N, 1); printf(\"N\"); @N = N; }";
    let (text, map) = expand_script(src, &pre.macros);
    assert_eq!(text, "#define N 100\nBEGIN { $x = ( 100 + 1 ); printf(\"N\"); @N = 100; }");
    // `1` after the macro call maps back to after it in the source.
    let after = text.find("; printf").unwrap_or(0) as u32;
    assert_eq!(map.map(after, false) as usize, src.find("; printf").unwrap_or(0));
    // An offset inside an expansion maps to the whole invocation.
    let inside = text.find("100 + 1").unwrap_or(0) as u32;
    assert_eq!(map.map(inside, false) as usize, src.find("ADD").unwrap_or(0));
}

#[test]
fn deep_if_expressions_are_bounded() {
    let src = format!("#if {}1{}\n#define D 1\n#endif\n#if {}1\n#define E 1\n#endif\n", "(".repeat(100_000), ")".repeat(100_000), "!".repeat(100_000));
    let pre = preprocess(&src, &NoTypes);
    // Evaluation gives up (0) rather than overflowing the stack; what a chain of 100,000 `!`
    // comes to after that doesn't matter, only that it returns.
    assert!(!pre.macros.contains_key("D"));
}

#[test]
fn arbitrary_input_never_panics() {
    // A deterministic stream of fragments, unicode and unbalanced brackets included.
    let parts = [
        "#define ", "#if ", "#endif\n", "#include <", "\"", "'", "\\", "é", "€", "(", ")", "{", "}", "[", "]", ";",
        ",", "struct ", "union ", "enum ", "typedef ", "int ", "x", "*", ":", "3", "/*", "*/", "//", "\n", "##", "#",
        "...", "sizeof", "= ", "__attribute__((", "A(", "B",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..60 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(parts[(seed % parts.len() as u64) as usize]);
        }
        let pre = preprocess(&text, &NoTypes);
        let (expanded, map) = crate::types::expand::expand_script(&text, &pre.macros);
        let _ = map.map(u32::try_from(expanded.len()).unwrap_or(0), true);
        let db = crate::types::TypeDb::kernel_only(&NoTypes);
        let mut types = crate::types::CTypes::default();
        let _ = crate::types::cdecl::parse_declarations(&lex(&text, 0), &mut types, &db, true);
    }
}
