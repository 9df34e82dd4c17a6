use super::*;
use crate::value::Int;
use std::ffi::CString;

fn fmt(f: &str, args: &[Value]) -> String {
    let mut out = Vec::new();
    Format::parse(f).render(args, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn i(v: i64) -> Value {
    Value::Int(Int::signed(v))
}

fn u(v: u64) -> Value {
    Value::Int(Int::unsigned(v))
}

fn s(v: &str) -> Value {
    Value::Str(v.as_bytes().to_vec())
}

/// What glibc's snprintf prints for one integer conversion, passing the argument the way a C
/// caller would for that length modifier.
fn libc_int(spec: &str, v: i64) -> String {
    let cfmt = CString::new(spec).expect("no NUL in spec");
    let mut buf = vec![0u8; 512];
    let long = spec.contains('l') || spec.contains('z') || spec.contains('j');
    // SAFETY: the buffer is large enough and the argument matches the conversion's size.
    let n = unsafe {
        if spec.ends_with('p') {
            libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), v as usize as *const libc::c_void)
        } else if long {
            libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), v)
        } else {
            libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), v as libc::c_int)
        }
    };
    buf.truncate(usize::try_from(n).expect("snprintf failed"));
    String::from_utf8(buf).expect("ascii")
}

fn libc_str(spec: &str, v: &str) -> String {
    let cfmt = CString::new(spec).expect("no NUL in spec");
    let arg = CString::new(v).expect("no NUL in arg");
    let mut buf = vec![0u8; 512];
    // SAFETY: the buffer is large enough and the argument is a C string.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), arg.as_ptr()) };
    buf.truncate(usize::try_from(n).expect("snprintf failed"));
    String::from_utf8(buf).expect("utf8")
}

#[test]
fn matches_bpftrace_for_the_basic_example() {
    // bpftrace -e 'BEGIN { printf("%d %x %lx %u\n", -1, -1, -1, -1); exit(); }'
    assert_eq!(fmt("%d %x %lx %u\n", &[i(-1), i(-1), i(-1), i(-1)]), "-1 ffffffff ffffffffffffffff 4294967295\n");
    // Values checked against bpftrace 0.17.
    assert_eq!(fmt("%hd %hhd %hu %hhu\n", &[i(70000), i(300), i(-1), i(-1)]), "4464 44 65535 255\n");
    assert_eq!(fmt("%lld %llu %zu %jd\n", &[i(-5), i(-5), i(7), i(-8)]), "-5 18446744073709551611 7 -8\n");
    assert_eq!(fmt("%d %u\n", &[i(0x1_2345_6789), i(0x1_2345_6789)]), "591751049 591751049\n");
    assert_eq!(
        fmt("[%-6.3d|%.5x|%.0d|%10.4s|%-c|%5c]\n", &[i(7), i(255), i(0), s("abcdef"), i(66), i(67)]),
        "[007   |000ff||      abcd|B|    C]\n"
    );
    assert_eq!(fmt("[%08.3d|%-08d|%0s]\n", &[i(7), i(7), s("ab")]), "[     007|7       |ab]\n");
    assert_eq!(fmt("[%p|%20p|%-20p|]\n", &[i(0), i(1), i(2)]), "[(nil)|                 0x1|0x2                 |]\n");
    assert_eq!(fmt("[%s|%-8s|%8s|%.2s]\n", &[s("hi"), s("ab"), s("cd"), s("xyz")]), "[hi|ab      |      cd|xy]\n");
    assert_eq!(fmt("[%o|%X|%c]\n", &[i(8), i(255), i(65)]), "[10|FF|A]\n");
}

#[test]
fn integer_conversions_match_glibc() {
    // bpftrace 0.20's specifiers take the flags `-` and `0` only.
    let flags = ["", "-", "0", "-0"];
    let widths = ["", "1", "6", "20"];
    let precisions = ["", ".0", ".3", ".12"];
    let lengths = ["", "hh", "h", "l", "ll", "z", "j"];
    let convs = ['d', 'u', 'x', 'X', 'o'];
    let values = [0i64, 1, -1, 42, -42, 255, 65_535, 70_000, i64::from(i32::MIN), 0x1_2345_6789, i64::MIN, i64::MAX];
    for f in flags {
        for w in widths {
            for p in precisions {
                for l in lengths {
                    for c in convs {
                        let spec = format!("%{f}{w}{p}{l}{c}");
                        for v in values {
                            assert_eq!(fmt(&spec, &[i(v)]), libc_int(&spec, v), "spec {spec} value {v}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn char_and_pointer_conversions_match_glibc() {
    for spec in ["%c", "%5c", "%-5c", "%p", "%20p", "%-20p"] {
        for v in [0i64, 65, 0x1_41, 0x7fff_1234_5678] {
            if spec.ends_with('c') && v == 0 {
                continue; // glibc writes a NUL byte, which ends its C string.
            }
            assert_eq!(fmt(spec, &[i(v)]), libc_int(spec, v), "spec {spec} value {v}");
        }
    }
}

#[test]
fn string_conversions_match_glibc() {
    for spec in ["%s", "%10s", "%-10s", "%.2s", "%5.1s", "%-5.0s", "%.10s", "%1s"] {
        for v in ["", "a", "hello", "hello world!"] {
            assert_eq!(fmt(spec, &[s(v)]), libc_str(spec, v), "spec {spec} value {v:?}");
        }
    }
}

#[test]
fn percent_and_literals() {
    // bpftrace 0.20: text up to the last specifier goes through C's printf (`%%` is `%`), the
    // text after it is printed as written.
    assert_eq!(fmt("100%% done\n", &[]), "100%% done\n");
    assert_eq!(fmt("a%%b %d c%%\n", &[i(1)]), "a%b 1 c%%\n");
    assert_eq!(fmt("%d%%\n", &[i(5)]), "5%%\n");
    assert_eq!(fmt("a %y b %", &[]), "a %y b %");
    assert_eq!(fmt("50% of %d\n", &[i(4)]), "50% of 4\n");
    assert_eq!(fmt("%i %+d|%d", &[i(3)]), "%i %+d|3");
    assert_eq!(Format::parse("%d %% %s %5%").arg_count(), 2);
    assert_eq!(Format::parse("%%d").arg_count(), 1);
    assert_eq!(fmt("%%d|%d|%%%d\n", &[i(1), i(2), i(3)]), "%d|2|%3\n");
}

#[test]
fn missing_and_extra_arguments_do_not_panic() {
    assert_eq!(fmt("%d and %s\n", &[i(1)]), "1 and %s\n");
    assert_eq!(fmt("%d\n", &[i(1), i(2)]), "1\n");
}

#[test]
fn unsigned_values_and_mismatched_kinds() {
    assert_eq!(fmt("%lu %ld", &[u(u64::MAX), u(u64::MAX)]), "18446744073709551615 -1");
    assert_eq!(fmt("%d|%5s", &[s("x"), u(42)]), "x|   42");
    let t = Value::Tuple(vec![i(1), s("a")]);
    assert_eq!(fmt("%s", &[t]), "(1, a)");
}

#[test]
fn raw_bytes_pass_through() {
    let mut out = Vec::new();
    Format::parse("[%s]").render(&[Value::Str(vec![0xff, b'x'])], &mut out);
    assert_eq!(out, b"[\xffx]");
}

#[test]
fn huge_widths_are_clamped() {
    let out = fmt("%99999999999999999999d", &[i(1)]);
    assert_eq!(out.len(), MAX_WIDTH);
}

#[test]
fn nul_character_ends_its_conversion() {
    // bpftrace 0.17: printf("[%c]", 0) prints "[]"; the NUL also cuts the padding after it.
    assert_eq!(fmt("[%c]", &[i(0)]), "[]");
    assert_eq!(fmt("[%3c|%-3c]", &[i(0), i(0)]), "[  |]");
    assert_eq!(fmt("[%c]", &[i(65)]), "[A]");
}

#[test]
fn pointers_are_numbers_under_integer_conversions() {
    let p = Value::Runtime(btc_bpfprog::RuntimeTy::Pointer, 255u64.to_le_bytes().to_vec());
    assert_eq!(fmt("%d %u %x %p %lu %o", &[p.clone(), p.clone(), p.clone(), p.clone(), p.clone(), p.clone()]), "255 255 ff 0xff 255 377");
    let null = Value::Runtime(btc_bpfprog::RuntimeTy::Pointer, vec![0; 8]);
    assert_eq!(fmt("%p", &[null]), "(nil)");
}
