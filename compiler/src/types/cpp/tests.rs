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
    // Where the header's name is, as clang points at it.
    assert_eq!(pre.missing[0].1, Some((54, 62)));
}

#[test]
fn only_the_scripts_own_missing_headers_count() {
    let h = Headers(vec![("a.h", "#include <inner_missing.h>\nstruct a { int x; };\n")]);
    let pre = preprocess("#include <a.h>\n#include \"q/missing.h\"\nBEGIN {}", &h);
    assert_eq!(texts(&pre.header_tokens), ["struct", "a", "{", "int", "x", ";", "}", ";"]);
    assert_eq!(pre.missing, [("q/missing.h".to_string(), Some((24, 37)))]);
}

#[test]
fn compiler_headers_are_built_in() {
    // Not on the search path (gcc keeps its own <stddef.h> elsewhere): the built-in ones.
    let pre = preprocess("#include <stddef.h>\n#include <stdbool.h>\n#include <stdarg.h>\n#include <stdint.h>\n", &NoTypes);
    assert!(pre.missing.is_empty(), "{:?}", pre.missing);
    assert!(pre.macros.contains_key("NULL") && pre.macros.contains_key("true") && pre.macros.contains_key("UINT32_MAX"));
    let decls = texts(&pre.header_tokens).join(" ");
    for t in ["size_t", "va_list", "uint8_t"] {
        assert!(decls.contains(t), "{t} in {decls}");
    }
    // A header on the search path comes first.
    let h = Headers(vec![("stddef.h", "#define MINE 1\n")]);
    let pre = preprocess("#include <stddef.h>\n", &h);
    assert!(pre.macros.contains_key("MINE") && !pre.macros.contains_key("NULL"));
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
fn macros_of_any_name_expand_in_the_script() {
    use crate::types::expand::expand_script;
    // Names starting with `_` are macros like any other (clang expands them); so are the
    // predefined ones.
    let src = "#define _ONE 1\n#define __TWO 2\nBEGIN { @ = _ONE + __TWO + __x86_64__ + _ONEx; }";
    let pre = preprocess(src, &NoTypes);
    let (text, _) = expand_script(src, &pre.macros);
    assert!(text.ends_with("BEGIN { @ = 1 + 2 + 1 + _ONEx; }"), "{text}");
    // Nothing to expand: the text and map stay as they are.
    let src = "BEGIN { @ = _ONEx; }";
    let (text, map) = expand_script(src, &preprocess(src, &NoTypes).macros);
    assert_eq!(text, src);
    assert!(map.is_identity());
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

/// Headers from a table that count how often each is asked for.
struct CountingHeaders(Vec<(&'static str, &'static str)>, std::cell::RefCell<Vec<String>>);

impl TypeSource for CountingHeaders {
    fn tracepoint_format(&self, _: &str, _: &str) -> Result<String, String> {
        Err("none".into())
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    fn header(&self, name: &str, _quoted: bool, _from: Option<&str>) -> Option<(String, String)> {
        self.1.borrow_mut().push(name.to_string());
        self.0.iter().find(|(n, _)| *n == name).map(|(n, t)| (n.to_string(), t.to_string()))
    }
}

#[test]
fn headers_are_read_once_and_guarded_ones_skipped() {
    let h = CountingHeaders(
        vec![
            ("g.h", "\n/* guarded */\n#ifndef G_H\n#define G_H\n#if 1\nstruct g { int x; };\n#endif\n#endif\n\n"),
            // Not wrapped whole: text after the guard's #endif.
            ("t.h", "#ifndef T_H\n#define T_H\n#endif\nint t;\n"),
            // An #else at the guard's level: included again, it defines something.
            ("e.h", "#ifndef E_H\n#define E_H\n#else\n#define E_AGAIN 1\n#endif\n"),
        ],
        Default::default(),
    );
    let src = "#include <g.h>\n#include <g.h>\n#include <t.h>\n#include <t.h>\n#include <e.h>\n#include <e.h>\n\
#undef G_H\n#include <g.h>\n#if __has_include(<g.h>) && __has_include(<nope.h>) == 0\n#define HAS 1\n#endif\n#include <nope.h>\n";
    let pre = preprocess(src, &h);
    assert_eq!(
        texts(&pre.header_tokens),
        ["struct", "g", "{", "int", "x", ";", "}", ";", "int", "t", ";", "int", "t", ";", "struct", "g", "{", "int", "x", ";", "}", ";"]
    );
    assert!(pre.macros.contains_key("E_AGAIN") && pre.macros.contains_key("HAS"));
    assert_eq!(pre.missing.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(), ["nope.h"]);
    // Each header is asked for once, `__has_include` included.
    assert_eq!(*h.1.borrow(), ["g.h", "t.h", "e.h", "nope.h"]);
    // Only g.h is skipped when included again: t.h has text after its #endif, e.h an #else.
    let mut p = Pre {
        source: &h,
        out: Preprocessed::default(),
        once: HashSet::new(),
        depth: 0,
        headers: HashMap::new(),
        guards: HashMap::new(),
    };
    for name in ["g.h", "t.h", "e.h"] {
        let text = h.0.iter().find(|(n, _)| *n == name).map_or("", |(_, t)| *t);
        p.file(text, Some(name), false);
    }
    let mut guards: Vec<(&str, &str)> = p.guards.iter().map(|(k, v)| (&**k, v.as_str())).collect();
    guards.sort_unstable();
    assert_eq!(guards, [("g.h", "G_H")]);
}

/// The lexer as it was before punctuators were matched by hand: the reference for
/// [`lexes_punctuators_as_before`].
fn lex_reference(text: &str) -> Vec<(TokKind, String, u32)> {
    const PUNCTS: &[&str] = &[
        "...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+=", "-=", "*=", "/=",
        "%=", "&=", "|=", "^=", "##",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let p = PUNCTS.iter().find(|p| rest.starts_with(**p)).map_or(1, |p| p.len()).max(c.len_utf8());
        out.push((TokKind::Punct, rest[..p].to_string(), i as u32));
        i += p;
    }
    out
}

#[test]
fn lexes_punctuators_as_before() {
    let chars = ["<", ">", "=", "!", "&", "|", "+", "-", "*", "/", "%", "^", ".", "#", "~", "?", ":", ",", ";", "é", "€", " "];
    let mut text = String::new();
    for a in chars {
        for b in chars {
            for c in chars {
                // No `/` followed by `/` or `*`: those start comments.
                let s = format!("{a}{b}{c} ");
                if !s.contains("//") && !s.contains("/*") {
                    text.push_str(&s);
                }
            }
        }
    }
    let got: Vec<(TokKind, String, u32)> = lex(&text, 0).into_iter().map(|t| (t.kind, t.text.to_string(), t.pos)).collect();
    assert_eq!(got, lex_reference(&text));
}

/// `strip_comments` as it was before it copied runs: the reference.
fn strip_reference(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let q = b[i];
                out.push(q);
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        out.push(b[i]);
                        i += 1;
                    }
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() && b[i] == q {
                    out.push(q);
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                out.extend_from_slice(b"  ");
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    out.push(if b[i] == b'\n' { b'\n' } else { b' ' });
                    i += 1;
                }
                if i < b.len() {
                    out.extend_from_slice(b"  ");
                    i += 2;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[test]
fn comments_are_stripped_as_before() {
    let parts = ["/*", "*/", "//", "/", "*", "\"", "'", "\\", "\n", "a", " ", "é", "x = 1;"];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..5000 {
        let mut text = String::new();
        for _ in 0..24 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(parts[(seed % parts.len() as u64) as usize]);
        }
        assert_eq!(strip_comments(&text), strip_reference(&text), "{text:?}");
    }
}
