use crate::diag::{Diagnostics, Style};
use crate::{check, CompileError, CompileOptions, NoTypes};

/// The rendered diagnostics of checking `src`, or "" when it checks.
fn errors(src: &str) -> String {
    match check(src, &NoTypes, &CompileOptions::default()) {
        Ok(_) => String::new(),
        Err(CompileError::Script(d)) => d.render_styled("stdin", src, false, Style::Bpftrace),
        Err(CompileError::Internal(m)) => m,
    }
}

fn parses(src: &str) -> crate::ast::Program {
    let mut d = Diagnostics::default();
    crate::syntax::parse(src, &mut d).unwrap_or_else(|| panic!("{}", d.render("stdin", src, true)))
}

#[test]
fn top_level_items_parse_in_any_order_after_imports() {
    let p = parses("import \"a.bt\"; config = { max_map_keys = 2 } import \"b.bt\"; begin { } macro m($x, @y, z) { $x } let @a = lruhash(5); end { }");
    assert_eq!(p.imports.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(), ["a.bt", "b.bt"]);
    assert_eq!(p.config.len(), 1);
    assert_eq!(p.probes.len(), 2);
    let m = &p.macros[0];
    assert_eq!((m.name.as_str(), m.params.len(), m.has_value), ("m", 3, true));
    assert_eq!(p.map_decls[0].kind, "lruhash");
    assert_eq!(p.map_decls[0].max_entries, 5);
    // A body ending in `;` has no value.
    assert!(!parses("macro m() { 1; } begin { }").macros[0].has_value);
    assert!(parses("macro m() { 1 // no ; here\n /* nor; here */ } begin { }").macros[0].has_value);
    assert!(!parses("macro m() { 1 /* c */ ; } begin { }").macros[0].has_value);
}

#[test]
fn misplaced_and_malformed_items_are_syntax_errors() {
    assert!(errors("begin { } import \"foo\";").contains("ERROR: syntax error"));
    assert!(errors("import 0; begin { }").starts_with("stdin:1:8: ERROR: syntax: expected string after 'import'\n"));
    assert!(errors("let @a = hash(); begin { }")
        .starts_with("stdin:1:15: ERROR: syntax: expected positive integer for map declaration max entries\n"));
    assert!(errors("@a = hash(2); begin { }").contains("stdin:1:4: ERROR: syntax error"));
}

#[test]
fn misuse_of_macros_gets_bpftrace_messages() {
    let cases = [
        ("macro set($x) { $x += 1; $x } begin { $a = 1; set($a, 1); }",
         "ERROR: The closest definition of set() has a different number of arguments. Expected: 1 but got 2"),
        ("macro set($x, $x) { $x } begin { }", "stdin:1:15: ERROR: Variable for macro argument has already been used: $x"),
        ("macro set(@x, @x) { @x } begin { }", "ERROR: Map for macro argument has already been used: @x"),
        ("macro set(x, x) { x } begin { }", "ERROR: Ident for macro argument has already been used: x"),
        ("macro set($x) { $x } macro set($y) { $y } begin { }", "stdin:1:22: ERROR: Redefinition of macro: set"),
        ("macro set($x) { $x } begin { @a = 1; set(@a); }",
         "ERROR: Mismatched arg. set() expects a variable for arg $x but got a map."),
        ("macro set(@x) { @x } begin { $a = 1; set($a); }",
         "ERROR: Mismatched arg. set() expects a map for arg @x but got a variable."),
        ("macro set(@x) { @x } begin { set(1); }", "ERROR: Mismatched arg. set() expects a map for arg @x but got an expression."),
        ("macro set() { @x[1] } begin { @x[0] = 0; print(set()); }",
         "stdin:1:15: ERROR: Unhygienic access to map: @x. Maps must be passed into the macro as arguments"),
        ("macro a(x) { x + b(x) } macro b(x) { a(x) } begin { print(a(1)); }",
         "ERROR: Recursive macro call detected. Call chain: a > b > a"),
        ("macro add1($x) { $x += 1; $x } begin { $y = 1; $z = add1; }",
         "stdin:1:53: ERROR: Call to add1() has arguments that do not match any definition."),
        ("macro test(pid) { } begin { }", "stdin:1:12: ERROR: syntax: builtin 'pid' can't be used as a macro argument"),
        ("macro m() { $x = 1; $x } begin { while (m() < 2) { } }", "ERROR: btc: macro m() runs statements before its value"),
    ];
    for (src, want) in cases {
        let got = errors(src);
        assert!(got.contains(want), "{src}\nwant: {want}\ngot:\n{got}");
    }
}

#[test]
fn errors_in_expanded_code_point_at_the_body_then_each_call() {
    let src = "macro add2($x) { $x + 1 } macro add1($x) { add2($x) } begin { $a = \"s\"; add1($a); }";
    let got = errors(src);
    let lines: Vec<&str> = got.lines().filter(|l| l.starts_with("stdin:")).collect();
    assert!(lines[0].starts_with("stdin:1:18: ERROR: "), "{got}");
    assert_eq!(lines[1], "stdin:1:44: note: expanded from", "{got}");
    assert_eq!(lines[2], "stdin:1:73: note: expanded from", "{got}");
}

#[test]
fn expansion_is_hygienic_and_leaves_no_macro_behind() {
    let src = "macro inc(x) { $y = x + 1; $y } macro set(@m, $v) { @m[1] = $v; } begin { $y = 2; $z = inc($y); set(@a, $z); }";
    let c = check(src, &NoTypes, &CompileOptions::default()).unwrap_or_else(|_| panic!("{}", errors(src)));
    let printed = crate::ast_print::print(&c.program, &c.analysis);
    assert!(printed.contains("y#1"), "{printed}");
    assert!(printed.contains("@a"), "{printed}");
    assert!(!printed.contains("@m"), "{printed}");
    assert!(!printed.contains("inc"), "{printed}");
    // Every span is back in the script's text.
    let mut max = 0;
    crate::ast::visit_block(&c.program.probes[0].body, &mut |e| max = max.max(e.span.end));
    assert!(max as usize <= src.len());
}

#[test]
fn map_declarations_are_checked_against_their_use() {
    assert!(errors("let @a = percpuhash(2); begin { @a = 1; }").starts_with(
        "stdin:1:33: ERROR: Incompatible map types. Type from declaration: percpuhash. Type from value/key type: hash\n"
    ));
    assert!(errors("let @a = hash(2); begin { @a = count(); }")
        .contains("ERROR: Incompatible map types. Type from declaration: hash. Type from value/key type: percpuhash"));
    assert!(errors("let @a = potato(2); begin { @a[1] = count(); }").starts_with("stdin:1:1: ERROR: Invalid bpf map type: potato\n"));
    let c = check("let @a = lruhash(3); let @u = hash(1); begin { @a[1] = 1; }", &NoTypes, &CompileOptions::default())
        .unwrap_or_else(|_| panic!("checks"));
    let sig = c.analysis.maps.iter().find(|m| m.name == "@a").map(|m| m.declared);
    assert_eq!(sig, Some(Some(crate::sema::map_decls::Declared { lru: true, max_entries: 3 })));
    assert!(c.warnings.items.iter().any(|d| d.message == "Unused map: @u"));
}

#[test]
fn imports_report_missing_files() {
    assert!(errors("import \"/nonexistent/x.bt\"; begin { }")
        .starts_with("stdin:1:1: ERROR: Unable to import /nonexistent/x.bt: No such file or directory\n"));
    // bpftrace's standard library is built into btc.
    assert_eq!(errors("import \"stdlib\"; begin { }"), "");
}

#[test]
fn exponential_expansion_ends_in_an_error() {
    let mut src = String::from("macro m0(x) { x + x }");
    for i in 1..40 {
        src.push_str(&format!(" macro m{i}(x) {{ m{}(x) + m{}(x) }}", i - 1, i - 1));
    }
    src.push_str(" begin { print(m39(1)); }");
    assert!(errors(&src).contains("ERROR: macro expansion is too large"));
}
