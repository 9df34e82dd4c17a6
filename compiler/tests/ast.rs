//! Snapshots of the typed AST (`btc compile --emit=ast`).

mod common;
use common::Fixtures;

fn typed_ast(src: &str) -> String {
    let opts = btc_compiler::CompileOptions::default();
    match btc_compiler::check(src, &Fixtures, &opts) {
        Ok(c) => btc_compiler::ast_print::print(&c.program, &c.analysis),
        Err(btc_compiler::CompileError::Script(d)) => panic!("{}", d.render("stdin", src, true)),
        Err(btc_compiler::CompileError::Internal(m)) => panic!("{m}"),
    }
}

#[test]
fn hello() {
    insta::assert_snapshot!(typed_ast(r#"BEGIN { printf("hello\n"); exit(); }"#));
}

#[test]
fn maps_and_aggregates() {
    insta::assert_snapshot!(typed_ast(
        r#"tracepoint:syscalls:sys_enter_openat /pid > 100/ {
             @opens[comm] = count();
             @bytes = hist(args.flags);
             @lin[pid, comm] = lhist(args.mode, 0, 100, 10);
             @s = stats(args.dfd); @mn = min(1); @mx = max(2); @a = avg(3); @t = sum(4);
             @last[tid] = (nsecs, str(args.filename));
           }"#
    ));
}

#[test]
fn control_flow_and_operators() {
    insta::assert_snapshot!(typed_ast(
        r#"BEGIN {
             $i = 0; $s = "x";
             while ($i < 10) { $i++; if ($i % 2 == 0) { continue; } else if ($i > 7) { break; } }
             unroll(3) { $i += 1; }
             $t = $i > 3 ? "big" : "small";
             $u = (uint8)-1; $v = ~$i << 2 | 1 & 3 ^ 4;
             @x = !$i && ($i || -$i);
             delete(@x);
             return;
           }
           END { print(@x); clear(@x); zero(@x); }"#
    ));
}

#[test]
fn preamble_and_config() {
    insta::assert_snapshot!(typed_ast(
        "#include <linux/sched.h>\n#define N 3\nstruct foo { int a; };\nconfig = { max_map_keys = 16; stack_mode = perf }\nBEGIN { @ = 1 }"
    ));
}
